"""Data acquisition: Fashion-MNIST, IDX folders, image folders; stratified splits; fingerprints."""

from trainer.data.config import DataConfig, DataSource
from trainer.data.dataset import FASHION_MNIST_LABELS, Dataset
from trainer.data.load import Splits, load_dataset, make_splits, split_files, split_indices
from trainer.data.split import stratified_split, stratified_subset

__all__ = [
    "FASHION_MNIST_LABELS",
    "DataConfig",
    "DataSource",
    "Dataset",
    "Splits",
    "load_dataset",
    "make_splits",
    "split_files",
    "split_indices",
    "stratified_split",
    "stratified_subset",
]
