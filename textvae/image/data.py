"""Image data: scikit-learn's 8x8 digits (offline default), MNIST and Fashion-MNIST from idx(.gz) files.

Pixels are floats in [0, 1] shaped (N, 1, H, W); labels are int64 class ids.

Splits (fixed, documented in docs/IMAGE.md):
- digits: the 1,797 images shuffled with a seed-0 permutation; first 1,438 train, last 359 test.
- mnist: if train-images-idx3-ubyte(.gz) is in the folder, the standard 60k/10k split; otherwise
  (the shared folder holds only the 10k test set) the t10k file: first 8,000 train, last 2,000 test.
- fashion-mnist: the standard 60k train / 10k test files.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from textvae.errors import DataError
from textvae.registry import Registry

DATASETS: Registry = Registry("image data set")
DEFAULT_DIRS = {
    "mnist": Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist",
    "fashion-mnist": Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion_mnist",
}
MNIST_TEST_ONLY_TRAIN = 8000


@dataclass
class ImageData:
    images: Tensor  # (N, C, H, W) float in [0, 1]
    labels: Tensor  # (N,) int64
    name: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    def subset(self, limit: int | None) -> ImageData:
        if limit is None or limit >= len(self):
            return self
        return ImageData(self.images[:limit], self.labels[:limit], self.name)


def check_images(images: Tensor, shape: tuple[int, int, int]) -> Tensor:
    """(B, C, H, W) float images of the expected shape, or a DataError that names both shapes.
    (B, H, W) and flat (B, C*H*W) inputs of the right size are reshaped."""
    if not isinstance(images, Tensor):
        raise DataError(f"images must be a torch.Tensor, got {type(images).__name__}")
    c, h, w = shape
    if images.dim() == 2 and images.shape[1] == c * h * w:
        images = images.view(-1, c, h, w)
    elif images.dim() == 3 and c == 1 and tuple(images.shape[1:]) == (h, w):
        images = images.unsqueeze(1)
    if images.dim() != 4 or tuple(images.shape[1:]) != (c, h, w):
        raise DataError(f"expected images of shape (batch, {c}, {h}, {w}), got {tuple(images.shape)}; "
                        f"this model was built for {c}x{h}x{w} images")
    return images.float()


def read_idx(path: Path) -> np.ndarray:
    """An idx file (MNIST format), gzipped or not, as a numpy uint8 array."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"idx file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    if len(raw) < 4:
        raise DataError(f"{path} is too short to be an idx file")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise DataError(f"{path} is not an unsigned-byte idx file (magic {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path} is truncated: header says {dims}, found {data.size} values")
    return data.reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _idx_pair(folder: Path, prefix: str, name: str) -> ImageData:
    images_path = _find(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(folder, f"{prefix}-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        raise DataError(f"{folder} has no {prefix}-images-idx3-ubyte(.gz) / {prefix}-labels-idx1-ubyte(.gz)")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{images_path} / {labels_path} do not hold matching images and labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return ImageData(x, torch.from_numpy(labels.astype(np.int64)), name)


@DATASETS.register("digits")
def load_digits_split(data_dir: Path | None = None) -> tuple[ImageData, ImageData]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    x, y = x[order], y[order]
    cut = int(round(0.8 * len(y)))
    return ImageData(x[:cut], y[:cut], "digits"), ImageData(x[cut:], y[cut:], "digits")


def _folder(name: str, data_dir: Path | None) -> Path:
    folder = Path(data_dir) if data_dir is not None else DEFAULT_DIRS[name]
    if not folder.is_dir():
        raise DataError(f"{name} folder not found: {folder} (pass --data-dir)")
    return folder


@DATASETS.register("mnist")
def load_mnist_split(data_dir: Path | None = None) -> tuple[ImageData, ImageData]:
    folder = _folder("mnist", data_dir)
    if _find(folder, "train-images-idx3-ubyte") is not None:
        return _idx_pair(folder, "train", "mnist"), _idx_pair(folder, "t10k", "mnist")
    test = _idx_pair(folder, "t10k", "mnist")
    cut = MNIST_TEST_ONLY_TRAIN
    if len(test) <= cut:
        raise DataError(f"{folder}: t10k has {len(test)} images, need more than {cut} for the train/test split")
    return (ImageData(test.images[:cut], test.labels[:cut], "mnist"),
            ImageData(test.images[cut:], test.labels[cut:], "mnist"))


@DATASETS.register("fashion-mnist")
def load_fashion_split(data_dir: Path | None = None) -> tuple[ImageData, ImageData]:
    folder = _folder("fashion-mnist", data_dir)
    return _idx_pair(folder, "train", "fashion-mnist"), _idx_pair(folder, "t10k", "fashion-mnist")


def load_image_data(name: str, data_dir: str | Path | None = None, train_limit: int | None = None,
                    test_limit: int | None = None) -> tuple[ImageData, ImageData]:
    """(train, test) of a named data set; limits keep the first N examples of each split."""
    train, test = DATASETS.get(name)(data_dir)
    return train.subset(train_limit), test.subset(test_limit)
