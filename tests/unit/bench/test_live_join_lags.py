from bench.live_join import lags_from


def test_each_send_waits_for_the_first_sample_that_counted_it() -> None:
    sent = [1.0, 1.1, 1.2]
    samples = [(1.05, 0), (1.30, 2), (1.50, 2), (1.90, 3)]
    # 1st and 2nd counted at 1.30, the 3rd at 1.90
    assert [round(x, 6) for x in lags_from(sent, samples)] == [0.3, 0.2, 0.7]


def test_sends_never_counted_have_no_lag() -> None:
    assert lags_from([1.0, 2.0], [(1.5, 1)]) == [0.5]
    assert lags_from([1.0], []) == []
