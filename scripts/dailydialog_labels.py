"""DailyDialog utterances with their dialogue-act and emotion labels (for the probe and arithmetic scripts)."""

from __future__ import annotations

from pathlib import Path

DAILYDIALOG = Path(__file__).resolve().parents[2] / "shared" / "data" / "dailydialog"
ACTS = {1: "inform", 2: "question", 3: "directive", 4: "commissive"}
EMOTIONS = {0: "no emotion", 1: "anger", 2: "disgust", 3: "fear", 4: "happiness", 5: "sadness", 6: "surprise"}


def labelled_utterances(split: str) -> tuple[list[str], list[int], list[int]]:
    """(utterances, act labels 1-4, emotion labels 0-6) of one split (train, validation, test), in file order;
    dialogues whose label count does not match their utterance count are skipped."""
    folder = DAILYDIALOG / split
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
