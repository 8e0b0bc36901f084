"""Publishing an exported synthetic set to the Hugging Face Hub in one commit."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import httpx2 as httpx
from huggingface_hub import CommitOperationAdd, HfApi, constants
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from synth.export import export_store

logger = logging.getLogger(__name__)


class PushError(RuntimeError):
    """An upload to the Hub that could not start or did not finish."""


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set, read at call time so tests and users can toggle it."""
    value = os.environ.get("HF_HUB_OFFLINE", "")
    return value.upper() in ("1", "ON", "YES", "TRUE") or bool(constants.HF_HUB_OFFLINE)


def push_store(store_path: Path, repo_id: str, *, private: bool = False, token: str | None = None,
               export_dir: Path | None = None) -> str:
    """Export the store (unless ``export_dir`` contains an export) and upload it as a single commit.

    Returns the commit URL. The token comes from ``token``, ``HF_TOKEN`` or the
    saved ``huggingface-cli login``. A single commit means a failed upload
    leaves nothing half-written on the Hub.
    """
    if hub_offline():
        raise PushError("cannot push: Hugging Face Hub offline mode is on (HF_HUB_OFFLINE=1); unset it to upload")
    with tempfile.TemporaryDirectory(prefix="synth-push-") as scratch:
        folder = Path(export_dir) if export_dir else export_store(store_path, Path(scratch) / "export", repo_id=repo_id)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        operations = [CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=str(p))
                      for p in files]
        api = HfApi(token=token)
        try:
            api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
            commit = api.create_commit(
                repo_id, repo_type="dataset", operations=operations,
                commit_message=f"Add synthetic anomalies ({len(files)} files)",
            )
        except OfflineModeIsEnabled as error:
            raise PushError("cannot push: Hugging Face Hub offline mode is on (HF_HUB_OFFLINE=1)") from error
        except HfHubHTTPError as error:
            raise PushError(f"upload to {repo_id} failed: {error}; nothing was committed") from error
        except (OSError, httpx.TransportError) as error:
            raise PushError(f"cannot reach the Hugging Face Hub to push {repo_id}: {error}") from error
    url = getattr(commit, "commit_url", str(commit))
    logger.info("pushed %d files to %s", len(files), url)
    return url
