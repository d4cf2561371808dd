"""Renamed to ``oncoae.training.problem``; this name stays only while ``oncoae.tuning.search`` still imports it."""

from oncoae.training.problem import TrainingProblem, training_problem

__all__ = ["TrainingProblem", "training_problem"]
