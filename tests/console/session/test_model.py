"""The session model without Qt and without sockets: what it sends, what it records."""

from __future__ import annotations

from console.session.model import SessionModel
from protocol import messages
from protocol.link import HeadsetJoined, HeadsetState, HeadsetStateChanged, MessageReceived


class RecordingLink:
    """Stands in for ConsoleLink: keeps what the model sent."""

    def __init__(self):
        self.sent: list[tuple[str, messages.Message]] = []

    def send(self, name, message):
        self.sent.append((name, message))
        return len(self.sent)

    def broadcast(self, message):
        self.sent.append(("*", message))
        return len(self.sent)

    def headsets(self):
        return {}


def hello(name="h1"):
    return messages.Hello(
        name=name, instance_id="i", protocol_major=1, protocol_minor=0, engine="sim", app_version="1", sent_at=0.0
    )


SPIDERS = messages.SceneSpec(
    id="spiders",
    label="Spiders",
    parameters=[
        messages.ParameterSpec(
            name="distance",
            label="Distance",
            unit="m",
            min=0.3,
            max=5.0,
            step=0.1,
            default=5.0,
            intensity_increases=False,
        )
    ],
)
CALM = messages.SceneSpec(id="calm", label="Calm", calm=True, parameters=[])


def connected_model(tmp_path=None) -> tuple[SessionModel, RecordingLink]:
    link = RecordingLink()
    model = SessionModel(link, presets_path=(tmp_path / "presets.json") if tmp_path else None)
    model.apply(HeadsetJoined("h1", hello(), resumed=False))
    model.apply(MessageReceived("h1", 1, messages.SceneCatalogue(scenes=[SPIDERS, CALM]), 0.0))
    status = messages.SceneStatus(
        scene_id="spiders", state="running", parameters=[messages.ParameterValue(name="distance", value=5.0)]
    )
    model.apply(MessageReceived("h1", 2, status, 0.0))
    return model, link


def test_a_joining_headset_becomes_current_and_gets_the_mirror_settings():
    model, link = connected_model()
    assert model.current == "h1"
    assert isinstance(link.sent[0][1], messages.MirrorSettings)
    assert model.headset().parameters["distance"].applied == 5.0


def test_set_parameter_sends_and_records_the_request_and_the_applied_value_comes_back():
    model, link = connected_model()
    changes = []
    model.parameter_changed.connect(lambda h, p: changes.append((h, p)))
    assert model.set_parameter("distance", 1.5, ramp_s=2)
    assert link.sent[-1] == ("h1", messages.SetParameter(name="distance", value=1.5, ramp_s=2.0))
    state = model.headset().parameters["distance"]
    assert state.requested == 1.5 and state.applied == 5.0
    model.apply(
        MessageReceived(
            "h1",
            3,
            messages.ParameterApplied(name="distance", value=3.2, target=1.5, ramping=True, ref_id=5, applied_at=1.0),
            10.0,
        )
    )
    assert (state.applied, state.target, state.ramping) == (3.2, 1.5, True)
    assert ("h1", "distance") in changes
    assert any("Distance → 1.5 m over 2 s" in e.text for e in model.log)


def test_out_of_range_and_unknown_parameters_are_refused_in_words_and_not_sent():
    model, link = connected_model()
    before = len(link.sent)
    assert not model.set_parameter("distance", 9.0)
    assert not model.set_parameter("colour", 1.0)
    assert len(link.sent) == before
    errors = [e.text for e in model.log if e.kind == "error"]
    assert "Distance 9 m is outside 0.3 … 5" in errors[0]
    assert "no parameter 'colour'" in errors[1]


def test_make_safe_goes_to_every_headset_even_when_none_is_selected():
    link = RecordingLink()
    model = SessionModel(link)
    model.make_safe()
    assert isinstance(link.sent[-1][1], messages.MakeSafe) and link.sent[-1][0] == "*"
    assert model.marks[-1].kind == "safety"


def test_ratings_are_recorded_with_response_time_and_marked():
    model, link = connected_model()
    prompt_id = model.ask("suds")
    assert link.sent[-1][1].kind == "suds"
    answer = messages.PromptAnswer(
        prompt_id=prompt_id, kind="suds", answered=True, value=42, shown_at=10.0, answered_at=12.5
    )
    model.apply(MessageReceived("h1", 4, answer, 50.0))
    rating = model.ratings[-1]
    assert (rating.value, rating.response_s, rating.at) == (42, 2.5, 50.0)
    assert model.marks[-1].label == "SUDS 42"


def test_a_headsets_safety_event_is_logged_and_marked_in_words_not_identifiers():
    """Seen in the demo's timeline: the calm scene's arrival was labelled 'make_safe_done'."""
    model, _ = connected_model()
    done = messages.SafetyEvent(kind="make_safe_done", text="The calm scene is fully shown.", at=3.0)
    model.apply(MessageReceived("h1", 5, done, 3.0))
    assert model.marks[-1].label == "calm scene shown" and model.marks[-1].kind == "safety"
    assert model.log[-1].text == "calm scene shown: The calm scene is fully shown."
    asked = messages.SafetyEvent(kind="patient_request", text="Stop button pressed.", at=4.0)
    model.apply(MessageReceived("h1", 6, asked, 4.0))
    assert model.log[-1].text == "the patient asked to stop: Stop button pressed."


def test_lost_headset_is_logged_as_a_safety_event():
    model, _ = connected_model()
    model.apply(HeadsetStateChanged("h1", HeadsetState.LOST, HeadsetState.STALE, 2.1, "no heartbeat for 2100 ms"))
    assert model.headset().state == HeadsetState.LOST
    assert model.log[-1].kind == "safety" and "LOST" in model.log[-1].text


def test_presets_are_saved_to_disk_and_recalled(tmp_path):
    model, _ = connected_model(tmp_path)
    model.set_parameter("distance", 2.0)
    assert model.save_preset("close")
    again, link2 = connected_model(tmp_path)
    assert again.presets == {"spiders": {"close": {"distance": 2.0}}}
    again.recall_preset("close", ramp_s=1.0)
    assert link2.sent[-1][1] == messages.SetParameter(name="distance", value=2.0, ramp_s=1.0)


def test_an_unreadable_presets_file_is_reported_not_fatal(tmp_path):
    (tmp_path / "presets.json").write_text("{not json")
    model, _ = connected_model(tmp_path)
    assert model.presets == {}
    assert any("unreadable" in e.text for e in model.log)


def test_an_answer_to_a_prompt_never_asked_is_refused_not_recorded():
    """Seen on 1.0: an answer nobody asked for was recorded as "SUDS 99" and raised an alert."""
    model, link = connected_model()
    logged = []
    model.logged.connect(logged.append)
    answer = messages.PromptAnswer(prompt_id=4242, kind="suds", value=99, answered=True, shown_at=1.0, answered_at=2.0)
    model.apply(MessageReceived("h1", 77, answer, 3.0))
    assert model.ratings == []
    refusal = link.sent[-1]
    assert refusal[0] == "h1" and isinstance(refusal[1], messages.Error)
    assert refusal[1].code == "unexpected" and refusal[1].ref_id == 77 and refusal[1].ref_type == "prompt_answer"
    assert any("refused prompt_answer" in e.text and "never asked" in e.text for e in logged)


def test_an_answer_of_another_kind_than_asked_is_refused():
    model, link = connected_model()
    model.ask("suds")
    prompt_id = next(m.prompt_id for _, m in reversed(link.sent) if isinstance(m, messages.Prompt))
    answer = messages.PromptAnswer(
        prompt_id=prompt_id, kind="expectancy", value=50, answered=True, shown_at=1.0, answered_at=2.0
    )
    model.apply(MessageReceived("h1", 78, answer, 3.0))
    assert model.ratings == [] and link.sent[-1][1].code == "unexpected"


def test_a_scene_status_for_an_undeclared_scene_is_refused_not_shown():
    """Seen on 1.0: a scene status naming an undeclared scene was shown as running."""
    model, link = connected_model()
    model.apply(MessageReceived("h1", 79, messages.SceneStatus(scene_id="casino", state="running"), 4.0))
    assert model.headset("h1").scene_id == "spiders"
    assert link.sent[-1][1].code == "unexpected" and "casino" in link.sent[-1][1].text


def test_a_parameter_applied_for_a_parameter_the_scene_lacks_is_refused():
    model, link = connected_model()
    applied = messages.ParameterApplied(name="gravity", value=1.0, target=1.0, ramping=False, ref_id=-1, applied_at=1.0)
    model.apply(MessageReceived("h1", 80, applied, 5.0))
    assert link.sent[-1][1].code == "unexpected" and "gravity" in link.sent[-1][1].text
    assert "gravity" not in model.headset("h1").parameters
