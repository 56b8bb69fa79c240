"""Reading a loop request from a query string, checked against the knob registry."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from technorhythm.audition.params import CONTROLS, LoopRequest, RequestError, parse_loop
from technorhythm.audition.server import is_loopback
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS


def test_defaults_and_values():
    req = parse_loop([])
    assert req.theta == tuple(k.default for k in KNOBS)
    assert (req.seed, req.bpm, req.bars) == (0, 128.0, 4)
    last = KNOBS[-1]
    req = parse_loop([(last.name, str(last.high)), ("seed", str(2**63 - 1)), ("bars", "8")])
    assert req.theta[-1] == last.high and req.seed == 2**63 - 1 and req.bars == 8


def test_the_canonical_query_reads_back():
    req = LoopRequest(tuple(k.low + 0.3 * (k.high - k.low) for k in KNOBS), 12345, 123.5, 2)
    assert parse_loop(parse_qsl(req.query())) == req
    assert req.query().startswith(f"{KNOB_NAMES[0]}=")


def test_no_knob_is_named_like_a_control():
    assert not set(CONTROLS) & set(KNOB_NAMES)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("cowbell", "1")], "Unknown knob 'cowbell'; valid knobs are:"),
        ([(KNOBS[0].name, "nan")], f"The {KNOBS[0].name!r} knob must be in"),
        ([(KNOBS[0].name, "inf")], "got inf"),
        ([(KNOBS[0].name, str(KNOBS[0].high + 1))], f"must be in [{KNOBS[0].low}"),
        ([(KNOBS[0].name, "loud")], "must be a number"),
        ([(KNOBS[0].name, "0"), (KNOBS[0].name, "0")], "more than once"),
        ([("seed", "-1")], "seed must be an integer"),
        ([("seed", str(2**63))], "seed must be an integer"),
        ([("seed", "1.5")], "seed must be an integer"),
        ([("bars", "0")], "bars must be an integer in [1, 16]"),
        ([("bpm", "nan")], "bpm must be a number in [20, 400]"),
    ],
)
def test_bad_requests_say_what_is_wrong(pairs, message):
    with pytest.raises(RequestError, match=None) as err:
        parse_loop(pairs)
    assert message in str(err.value) and err.value.status == 400


def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("example.org")
