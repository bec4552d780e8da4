# Control of L_t: the full MPA-FER with descriptions that leave out each
# class's discriminating cue (Fear and Surprise, Anger and Disgust get the
# same description; see mpa_fer_plugin.demo.captions.demo_descriptions).
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(
    descriptions='{{ fileDirname }}/../demo_assets/tiny_clip/'
    'demo_descriptions_without_cue.json'))
