"""The bad-input test every module of the suite has: each case raises
:class:`~matroidopt.errors.InvalidInputError` whose message starts with the argument's name."""

from __future__ import annotations

import pytest

from matroidopt.errors import InvalidInputError


def names_the_argument(cases):
    """A parametrised test over ``cases``, ``[(make, name), ...]``: ``make()`` must raise an
    ``InvalidInputError`` starting ``"name:"`` (or ``"name[i]:"``)."""

    @pytest.mark.parametrize("make, name", cases,
                             ids=[f"{i}-{n}" for i, (_, n) in enumerate(cases)])
    def test_bad_input_names_the_argument(make, name):
        with pytest.raises(InvalidInputError, match=rf"^{name}(\[\d+\])*:"):
            make()

    return test_bad_input_names_the_argument
