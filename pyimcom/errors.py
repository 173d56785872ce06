"""Exception and warning classes of PyIMCOM.

Which exception when
--------------------
* `ConfigError` -- a configuration keyword is missing, has the wrong type, or a value outside what
  is allowed.  The message names the keyword, the value received and what is allowed.
* `PyIMCOMValueError` -- a function argument (not a configuration keyword) has an invalid value.
* `PyIMCOMRangeError` -- a position or index lies outside the domain where a quantity is defined
  (e.g. a pixel outside an SCA).
* `InputFileError` -- an input file is missing, unreadable or does not have the expected layout.
  The message names the path and what was expected.
* `PyIMCOMError` -- any other failure of the pipeline that the user can act on.
* `PyIMCOMWarning` -- something is suspicious but a result can still be produced (unknown
  configuration keywords, a fallback that changes numbers slightly).

All exceptions derive from `PyIMCOMError`, itself a `RuntimeError`, so ``except PyIMCOMError``
catches everything this package raises on purpose.  The value errors also derive from the builtin
`ValueError` so that generic callers see the usual type.  All classes are picklable (they keep only
the message), so they cross process boundaries in parallel runs.
"""

__all__ = [
    "PyIMCOMError",
    "PyIMCOMValueError",
    "PyIMCOMRangeError",
    "ConfigError",
    "InputFileError",
    "PyIMCOMWarning",
]


class PyIMCOMError(RuntimeError):
    """Base class of every error raised on purpose by PyIMCOM."""


class PyIMCOMValueError(PyIMCOMError, ValueError):
    """An argument has a value that is not allowed."""


class PyIMCOMRangeError(PyIMCOMValueError):
    """A position or index lies outside the domain where a quantity is defined."""


class ConfigError(PyIMCOMValueError):
    """A configuration keyword is missing or invalid; the message names the keyword."""


class InputFileError(PyIMCOMError, OSError):
    """An input file is missing, unreadable or malformed; the message names the path."""

    def __reduce__(self):
        return (self.__class__, (str(self),))


class PyIMCOMWarning(UserWarning):
    """Warning category of PyIMCOM."""
