"""The minitorch autograder: PyTorch reference fixtures, finite-difference checks, a rubric per
assignment, a child-process sandbox for student code, and report formats for Gradescope/Autolab.

The grader never imports the graded ``minitorch`` itself: student code runs in a child process
(``autograder.child``) that sends arrays back; all comparisons and scoring happen in the parent.
"""
ASSIGNMENTS = ("hw1", "hw2", "hw3", "hw4")

__version__ = "0.1.0"
