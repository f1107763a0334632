import pytest
import torch

from carstudio import hub
from carstudio.hub import LazyModel, ModelUnavailable, load_pretrained
from carstudio.models.singan import SinGANGenerator

TINY = dict(scale_sizes=[[8, 12], [10, 16]], nfc=4, num_layers=3)


def write_model(directory):
    torch.manual_seed(0)
    model = SinGANGenerator(**TINY)
    model.save_pretrained(directory)
    hub.write_model_card(directory, "# tiny")
    return model


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "WEIGHTS_DIR", tmp_path)
    return tmp_path


def test_loads_verified_local_weights(weights_dir):
    model = write_model(weights_dir / "singan-tiny")
    loaded = load_pretrained(SinGANGenerator, "singan-tiny")
    torch.testing.assert_close(loaded.generators[1].tail.weight, model.generators[1].tail.weight)


def test_missing_truncated_and_tampered_weights_are_reported(weights_dir):
    with pytest.raises(ModelUnavailable, match="not installed"):
        load_pretrained(SinGANGenerator, "singan-absent")
    directory = weights_dir / "singan-tiny"
    write_model(directory)
    weights = next(directory.glob("*.safetensors"))
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelUnavailable, match="damaged"):
        load_pretrained(SinGANGenerator, "singan-tiny")
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ModelUnavailable, match="damaged"):
        load_pretrained(SinGANGenerator, "singan-tiny")
    weights.unlink()
    with pytest.raises(ModelUnavailable, match="missing"):
        load_pretrained(SinGANGenerator, "singan-tiny")


def test_hub_repo_is_read_from_a_snapshot_offline(weights_dir, tmp_path, monkeypatch):
    # A cache laid out the way huggingface_hub stores snapshots, used with HF_HUB_OFFLINE=1.
    cache = tmp_path / "hub-cache"
    revision = "0" * 40
    snapshot = cache / "models--carstudio--singan-tiny" / "snapshots" / revision
    model = write_model(snapshot)
    (cache / "models--carstudio--singan-tiny" / "refs").mkdir(parents=True)
    (cache / "models--carstudio--singan-tiny" / "refs" / "main").write_text(revision)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(hub.hub_env_var("singan-tiny"), "carstudio/singan-tiny")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hub.model_dir("singan-tiny") == snapshot
    loaded = load_pretrained(SinGANGenerator, "singan-tiny")
    torch.testing.assert_close(loaded.z_rec, model.z_rec)
    monkeypatch.setenv(hub.hub_env_var("singan-tiny"), "carstudio/not-cached")
    with pytest.raises(ModelUnavailable, match="could not be fetched"):
        hub.model_dir("singan-tiny")


def test_lazy_model_loads_once_warms_up_and_retries_after_failure():
    calls = {"load": 0, "warm": 0}
    fail = {"now": True}

    def load():
        calls["load"] += 1
        if fail["now"]:
            raise ModelUnavailable("not yet")
        return "model"

    lazy = LazyModel(load, lambda m: calls.__setitem__("warm", calls["warm"] + 1))
    with pytest.raises(ModelUnavailable):
        lazy.get()
    fail["now"] = False
    assert lazy.get() == "model" and lazy.get() == "model"
    assert calls == {"load": 2, "warm": 1} and lazy.loaded
