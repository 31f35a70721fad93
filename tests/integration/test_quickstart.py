"""A quick first start: the full model replaces the running one without a restart (bot/quickstart.py).

The training itself is the set-up's (scripts/setup.sh, exercised by every CI run); here its command is
replaced by one that succeeds or fails at once, and the swap restarts the real Rasa server of the stack.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.services as services_module
from bot.pipeline import Assistant, ChatUser
from bot.quickstart import FullModelTraining
from bot.replies import Text
from bot.services import Services
from community.settings import Settings
from tests.integration.conftest import Stack


@pytest.mark.rasa
async def test_a_trained_full_model_is_loaded_into_the_running_rasa_and_the_chat_is_told(
    stack: Stack, assistant: Assistant, tmp_path: Path
) -> None:
    said: list[str] = []
    training = FullModelTraining(
        stack.services,
        log_path=tmp_path / "train.log",
        say=said.append,
        command=["true"],
    )
    training.start()
    assert training.finished.wait(600)

    assert training.loaded.is_set()
    assert said == ["[full model loaded (xijin.tar.gz): answers are now as good as they get]"]
    turn = await assistant.handle(
        ChatUser("telegram", "891000001", "891000001", telegram_id=891_000_001), "你好"
    )
    assert not turn.degraded
    assert any(isinstance(r, Text) and r.text.startswith("你好！我是西津古渡社区助手") for r in turn.replies)


@pytest.mark.rasa
async def test_a_failed_training_keeps_the_quick_model_and_says_so(stack: Stack, tmp_path: Path) -> None:
    said: list[str] = []
    training = FullModelTraining(
        stack.services,
        log_path=tmp_path / "train.log",
        say=said.append,
        command=["false"],
    )
    training.start()
    assert training.finished.wait(60)

    assert not training.loaded.is_set()
    assert said == [f"[the full model could not be trained ({tmp_path / 'train.log'}); the quick one stays]"]


def test_rasa_serves_the_quick_model_folder_until_the_full_model_exists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setattr(services_module, "MODELS", models)
    monkeypatch.setattr(services_module, "MODEL", models / "xijin.tar.gz")
    monkeypatch.setattr(services_module, "QUICK_MODEL", models / "quick.tar.gz")
    services = Services(
        Settings(database_url="sqlite://", xijin_channel_secret="s"), log_path=tmp_path / "services.log"
    )

    assert services_module.model_to_serve() is None
    (models / "quick.tar.gz").write_bytes(b"quick")
    assert f"--model {models} " in services.config()
    (models / "xijin.tar.gz").write_bytes(b"full")
    assert f"--model {models / 'xijin.tar.gz'} " in services.config()
