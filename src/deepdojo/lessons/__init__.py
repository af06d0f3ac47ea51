"""The executable curriculum: ``NN_topic.py`` lessons (percent format) and what they use.

``deepdojo lesson list|run|open`` drives them from the command line; a lesson
itself only needs :func:`begin` (claims, figures, smoke mode) and the public API.
The lesson files are package data: not importable modules (their names start
with digits), run as scripts or opened as notebooks.
"""

from deepdojo.lessons.catalog import (
           LESSON_DIR,
           Lesson,
           find_lesson,
           list_lessons,
           to_notebook,
           write_notebook,
)
from deepdojo.lessons.kit import ClaimFailed, LessonRun, begin, figure, smoke_requested

__all__ = ["LESSON_DIR", "ClaimFailed", "Lesson", "LessonRun", "begin", "figure", "find_lesson", "list_lessons",
           "smoke_requested", "to_notebook", "write_notebook"]
