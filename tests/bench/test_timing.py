from bench import timing


def test_timed_ms_returns_what_the_call_returned_and_a_duration():
    # when
    result, elapsed = timing.timed_ms(sorted, [3, 1, 2], reverse=True)

    # then
    assert result == [3, 2, 1]
    assert elapsed >= 0


def test_latency_reports_nearest_rank_percentiles_and_the_mean():
    # when
    summary = timing.latency([4.0, 1.0, 3.0, 2.0, 100.0], digits=1)

    # then
    assert summary == {"p50_ms": 3.0, "p99_ms": 100.0, "mean_ms": 22.0}


def test_stage_medians_calls_every_stage_on_every_input_in_turn():
    # given
    calls = []
    stages = {"first": lambda given: calls.append(("first", given)),
              "second": lambda given: calls.append(("second", given))}

    # when
    medians = timing.stage_medians(stages, ["a", "b"])

    # then
    assert calls == [("first", "a"), ("second", "a"), ("first", "b"), ("second", "b")]
    assert set(medians) == {"first", "second"}
