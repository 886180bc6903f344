"""Hours that come from the hub's own forms and files: offline trainings (线下培训), filed, approved by a
department and attended, and continuing education (继续教育) recognised in bulk."""
