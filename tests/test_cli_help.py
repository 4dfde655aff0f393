"""The command line explains itself: every option's help says its default (or that it is required),
choices show in its {a,b} metavar; a misspelled command, choice or flag gets the nearest name (exit
2); `albert-bench tasks` stays within 100 columns."""
import argparse

import pytest

from albert_bench import cli
from albert_bench.tasks import REGISTRY


def _parsers():
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    return parser, commands


def test_every_option_says_its_default_or_choices():
    parser, commands = _parsers()
    assert set(commands) == set(cli.COMMANDS)
    missing = []
    for name, sub in commands.items():
        text = sub.format_help()                        # renders: no help string breaks %-formatting
        formatter = sub._get_formatter()
        for action in sub._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            shown = formatter._expand_help(action) if action.help else ""
            says = "default" in shown or "required" in shown
            if action.choices is not None:
                says = says and "{" + ",".join(map(str, action.choices)) + "}" in text
            if not says:
                missing.append(f"{name} {action.option_strings[-1]}: {shown!r}")
    assert not missing, "options whose help says no default:\n" + "\n".join(missing)
    finetune = commands["finetune"].format_help()
    assert "(default: 42)" in finetune and "(default: results)" in finetune and "{paper,quick}" in finetune
    table = commands["table"].format_help()
    assert "{model-card,glue,leaderboard,runs}" in table and "(default: model-card)" in table
    assert "{md,csv,latex,html,json}" in table and "(default: md)" in table
    assert "(default: results) (default:" not in finetune          # a help that says its default: once


@pytest.mark.parametrize("argv, hint", [
    (["finetun", "--model", "m"], "did you mean 'finetune'?"),
    (["tabel"], "did you mean 'table'?"),
    (["table", "--kind", "runz"], "did you mean 'runs'?"),
    (["finetune", "--model", "m", "--task", "rte", "--max-setps", "5"], "did you mean --max-steps?"),
    (["card", "--model", "m", "--repo_id", "org/x"], "did you mean --repo-id?"),
])
def test_a_misspelling_gets_a_suggestion(argv, hint, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert hint in err, err


def test_tasks_fits_100_columns(capsys):
    assert cli.main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    for name in REGISTRY:
        assert f"\n{name}: " in out
    assert "HasAns_f1 ↑" in out and "dev-v2.0.json" in out
