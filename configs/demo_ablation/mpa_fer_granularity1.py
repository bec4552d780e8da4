# Table 2 on the demo world: hard prompts of granularity 1 ('a photo of
# {class}.', e.g. 'a photo of happiness.'); ../mpa_fer_demo.py is
# granularity 3.
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(granularity=1))
