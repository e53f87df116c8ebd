"""ordered_map: map() with a few calls at once, results in order, errors where they belong."""

from __future__ import annotations

import threading
import time

import pytest

from pipeline.core.ordered import ordered_map


def test_results_come_in_the_order_of_the_items_whatever_finishes_first():
    def slow_first(n):
        time.sleep(0.05 if n % 2 == 0 else 0)
        return n * n

    assert list(ordered_map(slow_first, range(9), workers=2)) == [n * n for n in range(9)]


@pytest.mark.parametrize("queued", [0, 1, 2])
def test_items_are_taken_one_ahead_of_each_result_so_at_most_workers_and_queued_are_in_hand(queued):
    taken, results = [], []

    def items():
        for n in range(8):
            taken.append(n)
            yield n

    for result in ordered_map(lambda n: n, items(), workers=2, queued=queued):
        results.append(result)
        assert len(taken) - len(results) <= 1 + queued  # those in hand besides the result just given


def test_a_worker_whose_item_finished_takes_the_queued_one_before_the_first_is_taken():
    third_started = threading.Event()

    def work(n):
        if n == 2:
            third_started.set()
        elif n == 0:  # the first item finishes only once the third has started on the other worker
            assert third_started.wait(timeout=5)
        return n

    assert list(ordered_map(work, range(5), workers=2, queued=1)) == [0, 1, 2, 3, 4]


def test_two_calls_run_at_the_same_time():
    both = threading.Barrier(2, timeout=5)  # breaks (BrokenBarrierError) unless two calls meet

    def meet(n):
        both.wait()
        return n

    assert list(ordered_map(meet, range(4), workers=2)) == [0, 1, 2, 3]


def test_an_error_is_raised_where_its_result_would_be_after_the_results_before_it():
    def fails_at_three(n):
        if n == 3:
            raise ValueError("three")
        return n

    got = []
    with pytest.raises(ValueError, match="three"):
        for result in ordered_map(fails_at_three, range(6), workers=2):
            got.append(result)
    assert got == [0, 1, 2]


def test_leaving_early_waits_for_the_work_in_hand():
    running = []

    def work(n):
        running.append(n)
        time.sleep(0.05)
        running.remove(n)
        return n

    results = ordered_map(work, range(10), workers=2)
    assert next(results) == 0
    results.close()
    assert running == []  # nothing left running once the caller is gone


def test_one_worker_is_plain_map():
    assert list(ordered_map(str, range(3), workers=1)) == ["0", "1", "2"]


def test_a_single_item_is_worked_on_in_the_calling_thread():
    assert list(ordered_map(lambda _: threading.current_thread().name, ["only"])) == [threading.current_thread().name]
    assert list(ordered_map(str, [])) == []
