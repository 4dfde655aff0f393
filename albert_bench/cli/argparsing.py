"""argparse pieces of the `albert-bench` command line: the help formatter (examples as written, every
default shown), the parser that suggests the nearest command / choice / flag, and `_checked` (a
ValueError-raising parser as an argparse type)."""
from __future__ import annotations

import argparse
import difflib


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Examples kept as written (RawDescription); every option's default shown (ArgumentDefaults),
    unless its help already says what the default is. Choices show in the option's {a,b} metavar."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.required:
            return text if "required" in text else text + " (required)"
        if "default" in text.lower() or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if action.default is None or action.default is False:
            return text + (" (default: off)" if action.default is False else " (default: not set)")
        return text + " (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse with a "did you mean" for a misspelled command, choice or flag (Python 3.11's argparse
    suggests nothing); still one usage error, exit 2. Subcommands' parsers are of this class too."""

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in action.choices], n=1)
            if close:
                raise argparse.ArgumentError(action, f"invalid choice: {value!r}; did you mean {close[0]!r}? "
                                                     f"(choose from {', '.join(map(str, action.choices))})")
        super()._check_value(action, value)

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # The subcommand's parser says it (its usage line), with the nearest of its own flags.
            commands = next((a.choices for a in self._actions if isinstance(a, argparse._SubParsersAction)), {})
            owner = commands.get(getattr(parsed, "command", None), self)
            options = [o for a in owner._actions for o in a.option_strings]
            hints = [(flag, close[0]) for flag in (e.split("=", 1)[0] for e in extras if e.startswith("-"))
                     for close in [difflib.get_close_matches(flag, options, n=1)] if close]
            said = hints[0][1] if len(hints) == 1 else ", ".join(f"{c} (for {f})" for f, c in hints)
            owner.error(f"unrecognized arguments: {' '.join(extras)}" + (f"; did you mean {said}?" if hints else ""))
        return parsed


def _checked(parse):
    """An argparse type from a parser raising ValueError: the message becomes the usage error (exit 2)."""
    def convert(text):
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    convert.__name__ = "names"
    return convert
