"""Candidates as data: which models ``edgetk run`` trains, from a JSON file a user can edit."""

from trainer.candidates.spec import (
    KINDS,
    Candidate,
    CandidateSet,
    ClassicalSpec,
    default_candidates_path,
    load_candidates,
)

__all__ = [
    "KINDS",
    "Candidate",
    "CandidateSet",
    "ClassicalSpec",
    "default_candidates_path",
    "load_candidates",
]
