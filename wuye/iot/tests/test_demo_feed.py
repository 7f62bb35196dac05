"""`make run`'s demo feed: the simulator's readings stored in-process, one batch per tick, until told to stop."""

import pytest
from django.db import connection

from wuye.iot.management.commands.iot_simulate import feed_in_process
from wuye.iot.models import Device, Reading
from wuye.iot.services import DEMO_DEVICES, seed_iot
from wuye.workorders.tests import factories as wf


class Ticks:
    """A stop event that lets `count` ticks pass, then says stop."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.timeouts: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.timeouts.append(timeout)
        self.left -= 1
        return self.left < 0


# The feed runs in its own thread with its own connection in `serve`, outside any transaction; so here.
@pytest.mark.django_db(transaction=True)
def test_each_tick_stores_one_reading_per_metric_of_every_active_device_and_stopping_ends_it(cast):
    seed_iot(cast.estate)
    Device.objects.filter(estate=cast.estate, code="light-r1").update(is_active=False)
    before = Reading.objects.count()
    ticks = Ticks(2)
    # No faults: a silent device would skip a tick.
    stored = feed_in_process(cast.estate, ticks, interval=7.5, fault_rate=0.0)
    metrics = sum(len(metrics) for code, _name, _equipment, metrics in DEMO_DEVICES if code != "light-r1")
    assert stored == 2 * metrics
    assert Reading.objects.count() - before == stored
    assert not Reading.objects.filter(device__code="light-r1").exists()
    assert ticks.timeouts == [7.5, 7.5, 7.5]
    assert connection.in_atomic_block is False


@pytest.mark.django_db(transaction=True)
def test_an_estate_without_devices_is_not_fed(cast):
    assert feed_in_process(cast.estate, Ticks(3), interval=1.0) == 0


@pytest.mark.django_db(transaction=True)
def test_the_seeded_stories_open_alarms_stay_open_while_the_feed_runs(cast):
    from wuye.iot.choices import OPEN_STATUSES
    from wuye.iot.models import Alarm

    wf.seed_catalogue(cast)
    seed_iot(cast.estate)
    open_before = set(Alarm.objects.filter(estate=cast.estate, status__in=OPEN_STATUSES).values_list("id", flat=True))
    assert len(open_before) >= 2  # pump 2's pressure, the generator's battery, lift 3-1's heat
    feed_in_process(cast.estate, Ticks(3), interval=1.0, fault_rate=0.0)
    still_open = set(Alarm.objects.filter(estate=cast.estate, status__in=OPEN_STATUSES).values_list("id", flat=True))
    assert still_open == open_before
