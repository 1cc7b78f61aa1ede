"""pytest: the site's build hooks are not tests (api_docstrings.py needs griffe, from the
``docs`` extra)."""

collect_ignore = ["pictures.py", "api_docstrings.py"]
