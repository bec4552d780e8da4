from .mpa_fer_classifier import MPAFERClassifier

__all__ = ['MPAFERClassifier']
