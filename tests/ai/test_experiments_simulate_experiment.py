from io import StringIO

from django.core.management import call_command


def test_the_command_reports_the_planted_effect_and_the_a_a_test_as_a_table():
    out = StringIO()

    call_command("simulate_experiment", "--effect", "0.10", "--runs", "5", "--shoppers", "2800", "--minimum",
                 "1400", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("5 runs each: 2800 shoppers per variant over 28 days, minimum sample 1400")
    assert lines[3].startswith("| +10% planted | ") and lines[4].startswith("| A/A (no effect) | ")
    assert all(cell.strip().endswith("%") for cell in lines[4].strip("|").split("|")[1:])
