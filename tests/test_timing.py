"""The notebooks' and benchmarks' timers: medians of repeated runs, two functions timed in turn."""

from vireid_lib import timing


def test_alternating_seconds_times_the_functions_in_turn_and_returns_their_medians(monkeypatch):
    clock, calls = [0.0], []
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])

    def spends(name, seconds):
        def fn():
            calls.append(name)
            clock[0] += seconds.pop(0) if seconds else 0.0
        return fn

    a = spends("a", [9.0, 1.0, 2.0, 30.0])  # the warm-up's 9 s is not counted; median of 1, 2, 30
    b = spends("b", [9.0, 5.0, 4.0, 6.0])
    assert timing.alternating_seconds([a, b], repeats=3, warmup=1) == [2.0, 5.0]
    # in turn, so that both meet the same load, warm-up first; every other round in reverse, so none always leads
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]


def test_seconds_per_call_is_the_median_after_the_warmup(monkeypatch):
    clock, spent = [0.0], [100.0, 3.0, 1.0, 2.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])

    def fn():
        clock[0] += spent.pop(0)

    assert timing.seconds_per_call(fn, repeats=3, warmup=1) == 2.0
