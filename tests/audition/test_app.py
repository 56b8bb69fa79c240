"""The audition endpoints, over HTTP: good, bad and concurrent requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit

import httpx
import mido
import numpy as np
import pytest

from technorhythm.audition.params import LoopRequest
from technorhythm.clips import INSTRUMENTS, N_STEPS
from technorhythm.generation import draw_theta, load_pack, loop_streams
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS
from technorhythm.simulator.preset_io import list_presets, load_preset, load_theta_file
from technorhythm.simulator.render import generate_loops, loop_midi_bytes, loop_wav_bytes


def _theta(fraction: float) -> dict[str, float]:
    return {k.name: k.low + fraction * (k.high - k.low) for k in KNOBS}


def test_the_registry_and_the_presets(server):
    knobs = httpx.get(f"{server}/api/knobs").json()["knobs"]
    assert [k["name"] for k in knobs] == list(KNOB_NAMES)
    for got, knob in zip(knobs, KNOBS, strict=True):
        assert (got["low"], got["high"], got["default"], got["unit"], got["meaning"]) == (
            knob.low,
            knob.high,
            knob.default,
            knob.unit,
            knob.meaning,
        )
    presets = httpx.get(f"{server}/api/presets").json()["presets"]
    assert [p["name"] for p in presets] == list(list_presets())
    assert all(p["theta"] == load_preset(p["name"]) for p in presets)


def test_a_loop_its_grid_and_its_files(server, tmp_path):
    theta = _theta(0.6)
    loop = httpx.get(f"{server}/api/loop", params={**theta, "seed": 77, "bpm": 131}).json()
    expected = generate_loops(theta, seed=77, bars=4, bpm=131.0)[0]
    assert loop["instruments"] == list(INSTRUMENTS) and loop["steps"] == N_STEPS
    np.testing.assert_array_equal(loop["velocity"], expected.clips.velocity[0])
    np.testing.assert_allclose(loop["offset"], expected.clips.offset[0], atol=1e-4)
    assert loop["hits"] == int((expected.clips.velocity[0] > 0).sum())
    assert loop["seed"] == "77" and loop["theta"] == theta
    wav = httpx.get(server + loop["wav"])
    assert wav.headers["content-type"] == "audio/wav" and wav.content == loop_wav_bytes(expected)
    midi = httpx.get(server + loop["midi"])
    assert "attachment" in midi.headers["content-disposition"]
    assert midi.content == loop_midi_bytes(expected)
    (tmp_path / "loop.mid").write_bytes(midi.content)
    assert mido.MidiFile(tmp_path / "loop.mid").length == pytest.approx(4 * 4 * 60 / 131)
    (tmp_path / "theta.json").write_bytes(httpx.get(server + loop["theta_json"]).content)
    assert load_theta_file(tmp_path / "theta.json") == pytest.approx(theta)
    query = dict(parse_qsl(urlsplit(loop["wav"]).query))
    assert list(query) == [*KNOB_NAMES, "seed", "bpm", "bars"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("cowbell=1", "Unknown knob 'cowbell'"),
        (f"{KNOBS[0].name}=NaN", f"The {KNOBS[0].name!r} knob must be in"),
        (f"{KNOBS[-1].name}={KNOBS[-1].high * 2 + 1}", "must be in"),
        ("seed=-5", "seed must be"),
        ("bpm=0", "bpm must be"),
    ],
)
@pytest.mark.parametrize("endpoint", ["loop", "loop.wav", "loop.mid", "theta.json"])
def test_bad_requests_get_400_and_the_server_goes_on(server, endpoint, query, message):
    bad = httpx.get(f"{server}/api/{endpoint}?{query}")
    assert bad.status_code == 400 and message in bad.json()["detail"]
    assert httpx.get(f"{server}/api/{endpoint}").status_code == 200


def test_sampling_from_a_pack(server, fit_dir):
    drawn = httpx.get(f"{server}/api/sample", params={"pack": "steady", "seed": 3, "index": 2})
    body = drawn.json()
    expected = draw_theta(load_pack(fit_dir, "steady"), 1, seed=3, start=2)[0]
    np.testing.assert_allclose([body["theta"][k] for k in KNOB_NAMES], expected)
    assert body["seed"] == str(loop_streams(3, "steady", 2)[1]) and body["loop"] == "loop_002"
    assert "--group steady --seed 3 --n 3" in body["command"]
    packs = httpx.get(f"{server}/api/packs").json()
    assert [p["name"] for p in packs["packs"]] == ["edge", "steady"]
    missing = httpx.get(f"{server}/api/sample", params={"pack": "nope"})
    assert missing.status_code == 404 and "edge, steady" in missing.json()["detail"]
    bad = httpx.get(f"{server}/api/sample", params={"pack": "steady", "index": "-1"})
    assert bad.status_code == 400


def test_sampling_the_pack_s_own_loops(server, fit_dir):
    query = {"pack": "steady", "seed": 3, "index": 2, "knobs": "loops"}
    body = httpx.get(f"{server}/api/sample", params=query).json()
    expected = draw_theta(load_pack(fit_dir, "steady"), 1, seed=3, start=2, knobs="loops")[0]
    np.testing.assert_allclose([body["theta"][k] for k in KNOB_NAMES], expected)
    assert body["knobs"] == "loops" and body["command"].endswith("--n 3 --knobs loops")
    population = httpx.get(f"{server}/api/sample", params={**query, "knobs": "population"})
    assert population.json()["theta"] != body["theta"]
    bad = httpx.get(f"{server}/api/sample", params={**query, "knobs": "pack"})
    assert (
        bad.status_code == 400 and "knobs must be one of population, loops" in bad.json()["detail"]
    )


def test_a_fit_without_loop_draws_says_so(oracle_module, tmp_path):
    from technorhythm.audition import create_app, serving
    from technorhythm.generation import load_packs
    from technorhythm.posteriors import fit_groups, save_fit

    m = oracle_module
    clips, _ = m.population_pack(*m.STEADY, 16, seed=2, pack="steady")
    estimator = m.PopulationOracle([m.STEADY])
    result = fit_groups(clips, estimator=estimator, by="pack", loops=False, n_samples=50)
    save_fit(result, tmp_path / "fit", forest=False)
    with serving(create_app(load_packs(tmp_path / "fit"), fit_dir=tmp_path / "fit")) as base:
        answer = httpx.get(f"{base}/api/sample", params={"pack": "steady", "knobs": "loops"})
        assert answer.status_code == 409 and "--no-loops" in answer.json()["detail"]
        assert httpx.get(f"{base}/api/sample", params={"pack": "steady"}).status_code == 200


def test_no_fit_no_packs(bare_server):
    assert httpx.get(f"{bare_server}/api/packs").json() == {"fit": None, "packs": []}
    answer = httpx.get(f"{bare_server}/api/sample", params={"pack": "steady"})
    assert answer.status_code == 404 and "without --fit" in answer.json()["detail"]


def test_concurrent_requests(server):
    """Good and bad requests at once: every good one gets the loop it asked for."""
    requests = []
    for i in range(24):
        if i % 4 == 3:
            requests.append(({"cowbell": i}, 400))
        else:
            requests.append(({**_theta(i / 24), "seed": i, "bpm": 120 + i}, 200))

    def fetch(params):
        with httpx.Client(base_url=server, timeout=60) as client:
            loop = client.get("/api/loop", params=params)
            wav = client.get("/api/loop.wav", params=params)
        return loop, wav

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(fetch, [p for p, _ in requests]))
    for (params, status), (loop, wav) in zip(requests, answers, strict=True):
        assert loop.status_code == status and wav.status_code == status
        if status == 200:
            req = LoopRequest(
                tuple(params[k] for k in KNOB_NAMES), params["seed"], float(params["bpm"]), 4
            )
            expected = generate_loops(list(req.theta), seed=req.seed, bpm=req.bpm)[0]
            np.testing.assert_array_equal(loop.json()["velocity"], expected.clips.velocity[0])
            assert wav.content == loop_wav_bytes(expected)


def test_the_command_binds_to_localhost(monkeypatch, capsys):
    import technorhythm.audition as audition
    from technorhythm.cli import main

    calls = []
    monkeypatch.setattr(audition, "serve", lambda app, **kw: calls.append(kw))
    assert main(["serve"]) == 0
    assert calls == [{"host": "127.0.0.1", "port": 8765}]
    assert "http://127.0.0.1:8765/" in capsys.readouterr().out
    assert main(["serve", "--host", "0.0.0.0", "--port", "9000"]) == 0
    assert calls[-1] == {"host": "0.0.0.0", "port": 9000}
    assert "other machines on the network" in capsys.readouterr().err
