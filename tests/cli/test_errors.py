"""Every subcommand answers file-system errors and corrupt input with a message, not a traceback."""

from __future__ import annotations

import json
import shutil

import mido
import pytest
import torch

from technorhythm.checksums import sha256_file
from technorhythm.cli import main


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from technorhythm.corpus import ingest
    from technorhythm.corpus.demo_corpus import render_demo_corpus

    root = tmp_path_factory.mktemp("demo")
    render_demo_corpus(root / "midi")
    ingest(root / "midi", root / "dataset", progress=False)
    return root / "dataset"


def run(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def corrupt_with_matching_digest(src, dst, name="clips.parquet"):
    """A copy of the dataset whose ``name`` is damaged but carries its recorded SHA-256."""
    shutil.copytree(src, dst)
    path = dst / name
    data = bytearray(path.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 64] = b"\xa5" * 64  # inside the compressed pages
    path.write_bytes(bytes(data))
    info = json.loads((dst / "dataset.json").read_text())
    info["files"][name] = sha256_file(path)
    (dst / "dataset.json").write_text(json.dumps(info))
    return dst


def test_generate_to_a_folder_or_below_a_file(tmp_path, capsys):
    (tmp_path / "loops.mid").mkdir()
    code, err = run(["generate", "--out", tmp_path / "loops.mid"], capsys)
    assert code == 2 and "is a folder; give a file name inside it" in err
    (tmp_path / "plain").write_text("x")
    code, err = run(["generate", "--out", tmp_path / "plain" / "a.mid"], capsys)
    assert code == 2 and "is not a folder" in err
    code, err = run(
        ["generate", "--out", tmp_path / "ok.mid", "--wav", tmp_path / "plain" / "a.wav"], capsys
    )
    assert code == 2 and "--wav" in err
    assert not (tmp_path / "ok.mid").exists()  # nothing written when a later path would fail


def test_generate_wav_failing_after_the_midi_names_what_was_written(tmp_path, capsys, monkeypatch):
    from technorhythm.simulator import audio

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "loop.wav"))

    monkeypatch.setattr(audio, "render_wav", full_disk)
    code, err = run(
        ["generate", "--out", tmp_path / "loop.mid", "--wav", tmp_path / "loop.wav"], capsys
    )
    assert code == 2
    assert "No space left on device" in err
    assert f"complete files written before the failure: {tmp_path / 'loop.mid'}" in err
    assert len(mido.MidiFile(tmp_path / "loop.mid").tracks) == 1  # the MIDI file is whole


@pytest.mark.parametrize(
    "argv",
    [
        ["features", "{ds}", "--out", "{tmp}/f.parquet"],
        ["targets", "{ds}", "--out", "{tmp}/t.parquet", "--n-boot", "5"],
        ["eda", "{ds}", "--out", "{tmp}/eda"],
        ["split", "{ds}"],
        ["fit", "{ds}", "--out", "{tmp}/fit", "--no-plot"],
    ],
)
def test_corrupt_parquet_with_a_matching_digest(dataset, tmp_path, capsys, argv):
    bad = corrupt_with_matching_digest(dataset, tmp_path / "bad")
    args = [a.format(ds=bad, tmp=tmp_path) for a in argv]
    code, err = run(args, capsys)
    assert code == 2
    assert "clips.parquet" in err and "re-run `technorhythm ingest`" in err


def test_damaged_dataset_json_and_missing_files(dataset, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(dataset, bad)
    (bad / "manifest.parquet").unlink()
    code, err = run(["features", bad, "--out", tmp_path / "f.parquet"], capsys)
    assert code == 2 and "manifest.parquet is missing" in err
    (bad / "dataset.json").write_text("{not json")
    code, err = run(["features", bad, "--out", tmp_path / "f.parquet"], capsys)
    assert code == 2 and "is not valid JSON" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["ingest", "{midi}", "--out", "{file}/ds"],
        ["ingest", "{midi}", "--out", "{file}"],
        ["ingest", "{tmp}/nowhere", "--out", "{tmp}/ds"],
        ["features", "{ds}", "--out", "{file}/f.parquet"],
        ["features", "{ds}", "--out", "{tmp}"],
        ["targets", "{ds}", "--out", "{file}/t.parquet"],
        ["eda", "{ds}", "--out", "{file}/eda"],
        ["fit", "{ds}", "--out", "{file}/fit"],
        ["train", "--budget", "10", "--out", "{file}/model"],
        ["train", "--budget", "10", "--out", "{tmp}/model", "--plot", "{file}/loss.png"],
        ["split", "{tmp}/nowhere"],
        ["corpus", "fetch", "groove", "--from", "{tmp}/nowhere.zip", "--dest", "{tmp}/g"],
    ],
)
def test_bad_paths_are_messages(dataset, tmp_path, capsys, argv):
    (tmp_path / "plain").write_text("a file, not a folder")
    midi = dataset.parent / "midi"
    args = [a.format(ds=dataset, tmp=tmp_path, file=tmp_path / "plain", midi=midi) for a in argv]
    code, err = run(args, capsys)
    assert code == 2
    assert err.startswith(f"technorhythm {argv[0]}: error: ")
    assert len(err.strip().splitlines()) == 1


def test_model_that_is_not_only_tensors(dataset, tmp_path, capsys):
    from technorhythm.inference.packaged import SHIPPED_DIR

    model = tmp_path / "model"
    shutil.copytree(SHIPPED_DIR, model)
    manifest = json.loads((model / "manifest.json").read_text())
    record = manifest["networks"]["pack"]  # a population model: pack and loop networks
    weights = model / record["file"]
    torch.save({"weight": torch.zeros(2), "note": object.__new__(_Payload)}, weights)
    record["sha256"] = sha256_file(weights)  # the digest matches: only the content is unsafe
    (model / "manifest.json").write_text(json.dumps(manifest))
    code, err = run(["fit", dataset, "--out", tmp_path / "fit", "--model", model], capsys)
    assert code == 2
    assert "refused: loading them could run code" in err
    assert "weights_only" not in err and "trust" not in err


class _Payload:
    """A pickled Python object that torch.load(weights_only=True) must refuse."""


def test_retrain_hint_is_safe_to_copy(monkeypatch):
    from technorhythm.inference import persistence
    from technorhythm.inference.packaged import load_shipped

    real = persistence.current_versions()
    monkeypatch.setattr(
        persistence, "current_versions", lambda: {**real, "version_hash": "changed"}
    )
    with pytest.raises(persistence.ModelVersionError) as err:
        load_shipped()
    message = str(err.value)
    assert "--out MODEL_DIR" in message and "--model MODEL_DIR" in message
    assert "--out src/" not in message and "--force" not in message
