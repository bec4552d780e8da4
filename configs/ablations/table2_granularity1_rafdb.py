# Table 2: hard prompts at granularity 1 (mpa_fer_plugin/prompts/templates.py;
# the class name lower-cased):
#   1: 'a photo of {class}.'
#   2: 'a photo of a person making a facial expression of {class}.'
#   3: template 2 + LLM description (the default, configs/mpa_fer_rafdb.py)
_base_ = ['../mpa_fer_rafdb.py']
model = dict(head=dict(granularity=1))
