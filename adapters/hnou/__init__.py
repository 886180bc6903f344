"""湖南开放大学 (hnou): LTI 1.3 launches, signed form notifications and daily files."""
