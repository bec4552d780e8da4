# Table 2 on the demo world: hard prompts of granularity 2 ('a photo of a
# person making a facial expression of {class}.').
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(granularity=2))
