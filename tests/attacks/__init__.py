"""Adversarial submissions for `tests/test_adversarial.py` (learner code that tries to cheat)."""
