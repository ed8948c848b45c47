"""The evaluation inputs several scripts share: QQP test pairs unseen in training, labelled DailyDialog turns, a
training run's held-out validation texts."""

from __future__ import annotations

from pathlib import Path

import yaml

from benchkit.paths import DAILYDIALOG
from textvae.data import load_texts
from textvae.data.corpus import validation_start

QQP_VALID_FRACTION = 0.04  # the data.valid_fraction of the QQP configs: the last 4 % of train.tsv is held out


def held_out_texts(run: Path) -> list[str]:
    """The validation texts a run trained without: data.valid, else the held-out last data.valid_fraction."""
    data = yaml.safe_load((run / "experiment.yaml").read_text(encoding="utf-8"))["data"]
    if data.get("valid"):
        return load_texts(data["valid"], data.get("column", 0))
    texts = load_texts(data["train"], data.get("column", 0))
    return texts[validation_start(len(texts), data["valid_fraction"]) :]


def unseen_among(sources: list[str], references: list[str], seen_texts: list[str]) -> list[bool]:
    """Per pair: neither its source nor its reference is one of `seen_texts` (case-insensitive)."""
    seen = {t.lower() for t in seen_texts}
    return [s.lower() not in seen and r.lower() not in seen for s, r in zip(sources, references)]


def unseen_mask(sources: list[str], references: list[str], train_file: Path) -> list[bool]:
    """Per pair: neither its source nor its reference occurs (case-insensitive) in either column of `train_file`."""
    return unseen_among(sources, references, load_texts(train_file, 0) + load_texts(train_file, 1))


def qqp_unseen(folder: Path, limit: int | None) -> tuple[list[str], list[str]]:
    """(sources, human paraphrases) of the test pairs `unseen_mask` keeps, the first `limit` of them."""
    sources = load_texts(folder / "test.tsv", 0, drop_empty=False)
    references = load_texts(folder / "test.tsv", 1, drop_empty=False)
    kept = [(s, r) for s, r, m in zip(sources, references, unseen_mask(sources, references, folder / "train.tsv")) if m]
    kept = kept[:limit]
    return [s for s, _ in kept], [r for _, r in kept]


def labelled_utterances(split: str, folder: Path = DAILYDIALOG) -> tuple[list[str], list[int], list[int]]:
    """(utterances, act labels 1-4, emotion labels 0-6) of one DailyDialog split (train, validation, test), in
    file order. Acts: 1 inform, 2 question, 3 directive, 4 commissive; emotions: 0 none, 1 anger, 2 disgust,
    3 fear, 4 happiness, 5 sadness, 6 surprise. Dialogues whose label count does not match their utterance
    count are skipped."""
    folder = folder / split
    texts, acts, emotions = [], [], []
    lines = zip((folder / f"dialogues_{split}.txt").read_text(encoding="utf-8").splitlines(),
                (folder / f"dialogues_act_{split}.txt").read_text().splitlines(),
                (folder / f"dialogues_emotion_{split}.txt").read_text().splitlines())
    for dialogue, act_line, emotion_line in lines:
        turns = [t.strip() for t in dialogue.split("__eou__") if t.strip()]
        act, emotion = [int(x) for x in act_line.split()], [int(x) for x in emotion_line.split()]
        if len(turns) == len(act) == len(emotion):
            texts += turns
            acts += act
            emotions += emotion
    return texts, acts, emotions


def validation_pairs(train_file: Path, fraction: float, limit: int) -> tuple[list[str], list[str]]:
    """The first `limit` held-out pairs (the last `fraction` of the file, which training holds out) whose source and
    reference both occur nowhere in the trained part: the validation counterpart of the unseen test pairs."""
    sources = load_texts(train_file, 0, drop_empty=False)
    refs = load_texts(train_file, 1, drop_empty=False)
    start = validation_start(len(sources), fraction)
    mask = unseen_among(sources[start:], refs[start:], sources[:start] + refs[:start])
    kept = [(s, r) for s, r, m in zip(sources[start:], refs[start:], mask) if m][:limit]
    return [s for s, _ in kept], [r for _, r in kept]
