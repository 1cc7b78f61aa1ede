"""A griffe extension for the API reference: what a static reading of the sources misses of
this project's docstring conventions.

* The docstrings are numpy style with reST inline roles (``:func:`greedy```,
  ``:class:`~matroidopt.Result```) and literal-block colons (``... from Python::``). Rendered
  as Markdown, the roles would show verbatim; each becomes a code span that links to the
  object's API entry when the reference documents it (an *optional* cross-reference: a name
  the reference does not document stays plain code, without a warning), and ``::`` before an
  indented block becomes ``:``.
* Each built-in solver module defines ``def greedy(...)`` with the docstring and then rebinds
  ``greedy = SPEC.fn`` (the same signature and docstring, through ``functools.wraps``). Read
  statically, the rebinding hides the function behind an attribute; the function is put back.
* Constants are documented by ``#:`` comments above them (Sphinx's convention), which griffe
  does not read; such a comment becomes the constant's docstring.
* A group of parameters documented on one line without a type (``seed, progress,
  certificate`` followed by "As for greedy") would all show the first one's annotation and
  default; each gets its own from the signature.

Loaded by mkdocstrings (``extensions:`` in mkdocs.yml); griffe comes with the ``docs`` extra.
mkdocs.yml's ``exclude_docs`` keeps this folder out of the site, and the ``conftest.py`` beside
this file keeps it out of pytest's collection.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from griffe import Alias, Attribute, Docstring, Extension, Function, Module, Object

# :role:`target`, :role:`~target`, :role:`title <target>`, :py:role:`...`
_ROLE = re.compile(r":(?:py:)?(?P<role>func|class|meth|attr|mod|data|exc|obj|const):"
                   r"`(?P<body>[^`]+)`")
_TITLED = re.compile(r"^(?P<title>.*\S)\s*<(?P<target>[^<>]+)>$")
# a paragraph ending in "::" that introduces an indented literal block; a bare "::" line
_LITERAL = re.compile(r"(?m)(?<=\S)::[ \t]*$")
_BARE_LITERAL = re.compile(r"(?m)^[ \t]*::[ \t]*\n")
# a doctest block: from a ">>>" line to the next blank line
_DOCTEST = re.compile(r"(?m)(^[ \t]*>>>.*(?:\n(?![ \t]*$).*)*)")
# the public-function rebinding of a solver module
_REBOUND = re.compile(r"^\w+\.fn$")
# a line of a Parameters section naming several parameters, without a type
_GROUP = re.compile(r"(?m)^(\w+(?:, \w+)+)[ \t]*$")


def _lookup(pkg: Module, path: str) -> Object | Alias | None:
    try:
        return pkg.modules_collection[path]
    except Exception:  # noqa: BLE001 - KeyError, or an alias that does not resolve yet
        return None


def _canonical(pkg: Module, path: str, role: str) -> str:
    """``path`` followed through import aliases to where the object is defined; a module
    named like the function it defines (``matroidopt.solver.greedy``) stands for that
    function when the role asks for one."""
    obj = _lookup(pkg, path)
    if obj is None:
        return path
    if isinstance(obj, Alias):
        try:
            obj = obj.final_target
        except Exception:  # noqa: BLE001 - a target outside the loaded packages
            return path
    if isinstance(obj, Module) and role != "mod" and obj.name in obj.members:
        obj = obj.members[obj.name]
        return _canonical(pkg, obj.path, role) if isinstance(obj, Alias) else obj.path
    return obj.path


def _resolve(pkg: Module, obj: Object, name: str, role: str) -> str:
    """The full path that ``name`` (as written in ``obj``'s docstring) refers to, or
    ``name`` itself when griffe cannot resolve it."""
    if name.split(".", 1)[0] in ("matroidopt", "llm_minibatch"):
        return _canonical(pkg, name, role)
    head, _, tail = name.partition(".")
    try:
        resolved = obj.resolve(head)   # the object's scope, then its parents'
    except Exception:  # noqa: BLE001 - griffe's NameResolutionError, or a broken alias
        return name
    return _canonical(pkg, f"{resolved}.{tail}" if tail else resolved, role)


def _role_to_markdown(pkg: Module, obj: Object, match: re.Match[str]) -> str:
    role, body = match["role"], match["body"].strip()
    titled = _TITLED.match(body)
    if titled:
        title, target = titled["title"], titled["target"].strip()
    else:
        short = body.startswith("~")
        target = body.lstrip("~.")
        title = target.rsplit(".", 1)[-1] if short else target
        if role in ("func", "meth") and not title.endswith(")"):
            title += "()"
    identifier = _resolve(pkg, obj, target.removesuffix("()"), role)
    return (f'<autoref identifier="{html.escape(identifier, quote=True)}" optional>'
            f"<code>{html.escape(title)}</code></autoref>")


def _convert(pkg: Module, obj: Object, text: str) -> str:
    """The docstring with its prose rewritten; doctest blocks are kept as written."""
    out = []
    for i, block in enumerate(_DOCTEST.split(text)):
        if i % 2:  # a doctest block
            out.append(block)
            continue
        block = _ROLE.sub(lambda m: _role_to_markdown(pkg, obj, m), block)
        block = _BARE_LITERAL.sub("", block)
        block = _LITERAL.sub(":", block)
        out.append(block)
    return "".join(out)


def _fix_groups(obj: Object) -> None:
    """Give each parameter of an untyped group its own annotation and default."""
    grouped = {name for line in _GROUP.findall(obj.docstring.value) for name in line.split(", ")}
    signature = getattr(obj, "parameters", None)
    if not grouped or signature is None:
        return
    for section in obj.docstring.parsed:
        if section.kind.value not in ("parameters", "other parameters"):
            continue
        for param in section.value:
            if param.name in grouped:
                own = signature[param.name] if param.name in signature else None
                param.annotation = None if own is None else own.annotation
                param.value = None if own is None else own.default


def _walk(obj: Object) -> Iterator[Object]:
    yield obj
    for member in list(obj.members.values()):
        if not isinstance(member, Alias):
            yield from _walk(member)


class ApiDocstrings(Extension):
    """Read ``#:`` comments as the constants' docstrings; once a package is loaded, restore
    the solvers' functions, then rewrite every docstring (so that names defined anywhere in
    the package resolve) and fix its groups of untyped parameters."""

    def __init__(self) -> None:
        super().__init__()
        self._functions: dict[str, Function] = {}

    def on_function_instance(self, *, func: Function, **kwargs: Any) -> None:
        if isinstance(func.parent, Module):
            self._functions[func.path] = func

    def on_attribute_instance(self, *, attr: Attribute, agent: Any, **kwargs: Any) -> None:
        code = getattr(agent, "code", None)
        if attr.docstring is not None or not code or not attr.lineno:
            return
        lines = code.splitlines()
        first = attr.lineno - 1          # the comment lines just above the assignment
        while first > 0 and lines[first - 1].lstrip().startswith("#:"):
            first -= 1
        if first == attr.lineno - 1:
            return
        text = "\n".join(line.lstrip()[2:].removeprefix(" ")
                         for line in lines[first:attr.lineno - 1])
        attr.docstring = Docstring(text, lineno=first + 1, endlineno=attr.lineno - 1,
                                   parent=attr, parser=getattr(agent, "docstring_parser", None),
                                   parser_options=getattr(agent, "docstring_options", None))

    def on_package(self, *, pkg: Module, **kwargs: Any) -> None:
        for path, func in list(self._functions.items()):
            module = func.parent
            current = module.members.get(func.name) if module is not None else None
            if (isinstance(current, Attribute) and current.value is not None
                    and _REBOUND.match(str(current.value))):
                module.set_member(func.name, func)
                if func.docstring is not None:   # griffe handed it to the attribute
                    func.docstring.parent = func
            if path.split(".", 1)[0] == pkg.name:
                del self._functions[path]
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _convert(pkg, obj, obj.docstring.value)
                _fix_groups(obj)
