# Table 2: hard prompts at granularity 3 (template 2 + LLM description),
# the default; identical to configs/mpa_fer_rafdb.py.
_base_ = ['../mpa_fer_rafdb.py']
model = dict(head=dict(granularity=3))
