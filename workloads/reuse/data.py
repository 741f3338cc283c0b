"""Data sets for TReX training and evaluation.

What is modelled
----------------
* ``digits`` (the offline default): scikit-learn's 8x8 handwritten digits,
  shipped inside scikit-learn (1797 images, 10 classes); pixel values 0..16
  scaled by the training split's standard deviation (blank paper stays 0); a
  seeded, stratified 80/20 train/test split; random +-1 pixel shifts augment
  the training set.
* an ImageFolder directory (ImageNet layout: ``<root>/train/<class>/*.JPEG`` and
  ``<root>/val/<class>/*.JPEG``): DeiT's evaluation transform (resize to
  img/0.875, centre crop, ImageNet normalisation) and a random-resized-crop +
  flip training transform.
* a GLUE CoLA directory (``train.tsv``, ``dev.tsv``; columns: source, label,
  original label, sentence; no header) for BERT. Tokenisation is offline and
  self-contained: lower-cased words and punctuation (regex split), a vocabulary
  built from the training file (words seen at least once), ids 0..3 reserved
  for [PAD] [UNK] [CLS] [SEP], sequences cut or padded to ``seq_len``. This is
  NOT BERT's WordPiece vocabulary, so a pretrained BERT checkpoint's embedding
  rows do not line up with these ids; it lets the CoLA path run end to end
  without network access.

What is abstracted
------------------
No RandAugment / Mixup / CutMix / repeated augmentation of DeiT's recipe (the
paper's 30-epoch fine-tuning is on a pretrained model), no MixToken for LV-ViT.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from contracts.errors import UserError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")


@dataclass
class DataBundle:
    """A training and a test set plus what a model needs to know about them."""

    name: str
    train: Dataset
    test: Dataset
    num_classes: int
    img_size: int | None = None
    seq_len: int | None = None
    train_eval: Dataset | None = None  # the training set without augmentation, same order (loss evaluation)

    @property
    def train_plain(self) -> Dataset:
        return self.train_eval if self.train_eval is not None else self.train


class RandomShift(Dataset):
    """Training augmentation for small images: a random translation of up to ``pixels`` in x and y
    (zero padding). Draws come from torch's global generator, which the training loop seeds per epoch."""

    def __init__(self, base: Dataset, pixels: int = 1):
        self.base = base
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        x, y = self.base[i]
        p = self.pixels
        dx, dy = (int(v) for v in torch.randint(-p, p + 1, (2,)))
        padded = torch.nn.functional.pad(x, (p, p, p, p))
        h, w = x.shape[-2:]
        return padded[..., p + dy:p + dy + h, p + dx:p + dx + w], y


def load_digits_data(seed: int = 0, test_fraction: float = 0.2) -> DataBundle:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (n, 1, 8, 8)
    labels = torch.tensor(digits.target, dtype=torch.long)
    idx_train, idx_test = train_test_split(list(range(len(labels))), test_size=test_fraction, random_state=seed,
                                           stratify=digits.target)
    x_train, x_test = images[idx_train], images[idx_test]
    std = x_train.std()  # scale only: blank paper stays 0, the value the shift augmentation pads with
    plain = TensorDataset(x_train / std, labels[idx_train])
    return DataBundle(name="digits", train=RandomShift(plain), test=TensorDataset(x_test / std, labels[idx_test]),
                      num_classes=10, img_size=8, train_eval=plain)


def load_imagefolder_data(root: str, img_size: int) -> DataBundle:
    from torchvision import datasets, transforms

    train_dir, val_dir = os.path.join(root, "train"), os.path.join(root, "val")
    for d in (train_dir, val_dir):
        if not os.path.isdir(d):
            raise UserError(f"ImageFolder data '{root}' needs the sub-folders train/ and val/ ('{d}' is missing)")
    normalize = transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    train_tf = transforms.Compose([transforms.RandomResizedCrop(img_size), transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), normalize])
    test_tf = transforms.Compose([transforms.Resize(int(round(img_size / 0.875))), transforms.CenterCrop(img_size),
                                  transforms.ToTensor(), normalize])
    train = datasets.ImageFolder(train_dir, train_tf)
    test = datasets.ImageFolder(val_dir, test_tf)
    return DataBundle(name=f"imagefolder:{root}", train=train, test=test, num_classes=len(train.classes),
                      img_size=img_size, train_eval=datasets.ImageFolder(train_dir, test_tf))


def tokenize(sentence: str) -> list[str]:
    return re.findall(r"[a-z0-9]+|[^\sa-z0-9]", sentence.lower())


def build_vocab(sentences: list[str]) -> dict[str, int]:
    words = sorted({w for s in sentences for w in tokenize(s)})
    return {tok: i for i, tok in enumerate(list(SPECIAL_TOKENS) + words)}


def encode(sentence: str, vocab: dict[str, int], seq_len: int) -> list[int]:
    ids = [vocab["[CLS]"]] + [vocab.get(w, vocab["[UNK]"]) for w in tokenize(sentence)][: seq_len - 2]
    ids.append(vocab["[SEP]"])
    return ids + [vocab["[PAD]"]] * (seq_len - len(ids))


def _read_cola(path: str) -> tuple[list[str], list[int]]:
    if not os.path.isfile(path):
        raise UserError(f"CoLA data needs '{path}' (GLUE CoLA layout: train.tsv and dev.tsv)")
    sentences, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 4 or row[1] not in ("0", "1"):
                continue
            labels.append(int(row[1]))
            sentences.append(row[3])
    if not sentences:
        raise UserError(f"'{path}' holds no CoLA rows (source, label 0/1, original label, sentence)")
    return sentences, labels


def load_cola_data(root: str, seq_len: int = 64) -> DataBundle:
    train_s, train_y = _read_cola(os.path.join(root, "train.tsv"))
    test_s, test_y = _read_cola(os.path.join(root, "dev.tsv"))
    vocab = build_vocab(train_s)

    def tensors(sentences, labels):
        ids = torch.tensor([encode(s, vocab, seq_len) for s in sentences], dtype=torch.long)
        return TensorDataset(ids, torch.tensor(labels, dtype=torch.long))

    return DataBundle(name=f"cola:{root}", train=tensors(train_s, train_y), test=tensors(test_s, test_y),
                      num_classes=2, seq_len=seq_len)


def load_data(data: str, img_size: int | None = None, seq_len: int | None = None, seed: int = 0) -> DataBundle:
    """``digits`` | an ImageFolder root | a CoLA folder (holding train.tsv) -> a DataBundle."""
    if data == "digits":
        return load_digits_data(seed=seed)
    if not os.path.isdir(data):
        raise UserError(f"data '{data}' is neither 'digits' nor an existing folder")
    if os.path.isfile(os.path.join(data, "train.tsv")):
        return load_cola_data(data, seq_len=seq_len or 64)
    return load_imagefolder_data(data, img_size or 224)


def fraction_subset(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """A seeded random ``fraction`` of ``dataset`` (Step 3 trains on 20% of the training set)."""
    if not 0 < fraction <= 1:
        raise UserError(f"the training fraction must be in (0, 1], got {fraction}")
    n = max(1, int(round(len(dataset) * fraction)))
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    return Subset(dataset, sorted(order[:n].tolist()))


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int, workers: int = 0) -> DataLoader:
    """Deterministic loader: the shuffle order depends only on ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, num_workers=workers,
                      drop_last=False)
