"""The therapist's clinical controls: the plan's current step with one action to move up or
back, expectancy and habituation, the suggestion with Accept / Modify / Dismiss, safety
alerts, and the dialogs to edit a patient's hierarchy and plan, their safety thresholds,
and to report a safety event. Thin views over :class:`console.session.clinic.workflow.ClinicalSession`.

GUI thread only. The patient's plans and thresholds are read and saved in the session
store's own thread (:class:`~console.records.store_worker.StoreWorker`): a store that
another process keeps busy delays the save, never the heartbeats this thread sends. What
the store answers comes back here through :class:`~console.qt.store_delivery.StoreDelivery`.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.qt.store_delivery import StoreDelivery, while_alive
from console.records.store import SessionStore, validate_code
from console.records.store_worker import StoreFailure, StoreWorker
from console.session.clinic.plan import (
    Hierarchy,
    PlanError,
    PlannedStep,
    SessionPlan,
    Step,
    bounds_text,
    parse_bounds,
    parse_values,
    validate,
    validate_plan,
    values_text,
)
from console.session.clinic.safety import SAFETY_EVENT_KINDS, SEVERITIES, Alert, Threshold, Thresholds
from console.session.clinic.workflow import ClinicalSession

ACTION_WORDS = {"raise": "Move up a step", "lower": "Go back a step", "hold": "Stay here", "vary": "Vary the scene"}
PLAN_NAME = "today"  # the session plan kept with each hierarchy, named after it: "<hierarchy> · today"


def stored_plans(store: SessionStore, code: str) -> dict[str, dict]:
    """The store thread: the patient's plans in the store by name ({} without a code, or for
    a patient the store does not know yet). StoreError, in words, when the store fails."""
    if not code:
        return {}
    validate_code(code)
    if code.casefold() not in {p.code.casefold() for p in store.patients(include_archived=True)}:
        return {}  # new to the store: nothing stored yet
    return {p.name: p.body for p in store.plans(code)}


def stored_thresholds(plans: dict[str, dict]) -> Thresholds | None:
    body = plans.get(Thresholds.STORE_NAME)
    return Thresholds.from_dict(body) if body is not None else None


class ClinicPanel(QWidget):
    """The plan's step, the advice and the alerts, above the self-report panel."""

    def __init__(
        self,
        clinic: ClinicalSession,
        store: StoreWorker | None = None,
        patient: Callable[[], str] = lambda: "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.clinic, self.store, self.patient = clinic, store, patient
        if store is not None:
            self._store_delivery = StoreDelivery(store, self)  # the store's answers, in this thread
        self._patient_asked = ""  # the newest patient whose thresholds were asked of the store
        self.default_plan: SessionPlan | None = None  # shown in Plan… when the patient has none yet
        self._alerts: list[str] = []  # shown, not yet acknowledged
        title = QLabel("Exposure plan")
        title.setObjectName("panelTitle")
        self.step_label = QLabel("No plan running. Open the patient's hierarchy to start one.")
        self.step_label.setWordWrap(True)
        self.step_label.setStyleSheet("font-size: 11.5pt; font-weight: 600;")
        self.time_label = QLabel("")
        self.learning_label = QLabel("")
        self.learning_label.setWordWrap(True)
        self.plan_button = QPushButton("Plan…")
        self.plan_button.setToolTip("Edit the patient's exposure hierarchy and today's plan, and start it (Ctrl+H)")
        self.plan_button.clicked.connect(self.edit_plan)
        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("Go back one step (Ctrl+Left)")
        self.back_button.clicked.connect(clinic.back)
        self.next_button = QPushButton("Next step ▶")
        self.next_button.setToolTip("Move up to the next step (Ctrl+Right)")
        self.next_button.clicked.connect(clinic.advance)
        self.vary_button = QPushButton("Vary")
        self.vary_button.setToolTip("New values within the step's variability bounds (V)")
        self.vary_button.clicked.connect(lambda: clinic.vary())
        self.safety_button = QPushButton("Safety event…")
        self.safety_button.setToolTip(
            "Record cybersickness, dissociation, overload or an equipment fault (Ctrl+Shift+E)"
        )
        self.safety_button.clicked.connect(self.report_safety_event)

        # The advice and the alerts go in a full-width bar under the toolbar (self.bar): where
        # the therapist looks, wide enough for the reasons in one line or two.
        self.bar = QWidget()
        self.bar.setObjectName("clinicBar")
        self.suggestion_box = QWidget()
        self.suggestion_box.setStyleSheet("background: #e8f1fb; border-radius: 4px;")
        self.suggestion_text = QLabel("")
        self.suggestion_text.setWordWrap(True)
        self.suggestion_text.setTextFormat(Qt.TextFormat.RichText)
        self.accept_button = QPushButton("Accept")
        self.accept_button.setToolTip("Do what the suggestion says (Ctrl+Return)")
        self.accept_button.clicked.connect(clinic.accept)
        self.modify_button = QPushButton("Do instead…")
        self.modify_menu = QMenu(self.modify_button)
        for action, words in ACTION_WORDS.items():
            self.modify_menu.addAction(words, lambda a=action: clinic.modify(a))
        self.modify_button.setMenu(self.modify_menu)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip("Not now; it will not be suggested again for a minute")
        self.dismiss_button.clicked.connect(lambda: clinic.dismiss())
        box = QHBoxLayout(self.suggestion_box)
        box.setContentsMargins(8, 4, 8, 4)
        box.addWidget(self.suggestion_text, 1)
        for b in (self.accept_button, self.modify_button, self.dismiss_button):
            box.addWidget(b)

        self.alert_box = QWidget()
        self.alert_box.setStyleSheet("background: #fdecea; border-radius: 4px;")
        self.alert_label = QLabel("")
        self.alert_label.setWordWrap(True)
        self.alert_label.setStyleSheet("color: #8e2a20; font-weight: 700; padding: 4px;")
        self.acknowledge_button = QPushButton("Acknowledge")
        self.acknowledge_button.setToolTip("You have seen the alert; it is logged that you did")
        self.acknowledge_button.clicked.connect(self.acknowledge_alert)
        alert_row = QHBoxLayout(self.alert_box)
        alert_row.setContentsMargins(8, 2, 8, 2)
        alert_row.addWidget(self.alert_label, 1)
        alert_row.addWidget(self.acknowledge_button)
        self.alert_box.hide()
        bar = QVBoxLayout(self.bar)
        bar.setContentsMargins(0, 2, 0, 2)
        bar.addWidget(self.alert_box)
        bar.addWidget(self.suggestion_box)

        buttons = QHBoxLayout()
        for b in (self.plan_button, self.back_button, self.next_button, self.vary_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.safety_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(title)
        layout.addWidget(self.step_label)
        layout.addWidget(self.time_label)
        layout.addWidget(self.learning_label)
        layout.addLayout(buttons)
        layout.addStretch(1)

        for keys, action in (
            ("Ctrl+Right", clinic.advance),
            ("Ctrl+Left", clinic.back),
            ("V", clinic.vary),
            ("Ctrl+Return", clinic.accept),
            ("Ctrl+H", self.edit_plan),
            ("Ctrl+Shift+E", self.report_safety_event),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(action)
        clinic.changed.connect(self.refresh)
        clinic.alerted.connect(self.show_alert)
        self.refresh()

    def refresh(self) -> None:
        status = self.clinic.status()
        running = status is not None
        for b in (self.back_button, self.next_button):
            b.setEnabled(running)
        if status is None:
            self.step_label.setText("No plan running. Open the patient's hierarchy with Plan… to start one.")
            self.time_label.setText("")
            self.learning_label.setText("")
            self.vary_button.setEnabled(False)
        else:
            expected = f" · expected SUDS {status.step.expected_suds}" if status.step.expected_suds is not None else ""
            self.step_label.setText(f"Step {status.position + 1} of {status.steps}: {status.step.label}{expected}")
            nxt = f" · next: {status.next_label}" if status.next_label else " · last step of the plan"
            waiting = (
                f"Waiting for {status.waiting_for} before showing it" if status.waiting_for else status.time_text()
            )
            expectancy = f" · expectancy {status.expectancy} %" if status.expectancy is not None else ""
            self.time_label.setText(waiting + nxt + expectancy)
            learning = [status.habituation.text]
            if self.clinic.violations:
                learning.append("last violation: " + self.clinic.violations[-1].text())
            self.learning_label.setText(" · ".join(learning))
            self.back_button.setEnabled(status.position > 0)
            self.next_button.setEnabled(status.next_label is not None)
            self.vary_button.setEnabled(bool(status.step.vary))
        open_ = self.clinic.suggestion
        self.suggestion_box.setVisible(open_ is not None)
        self.bar.setVisible(open_ is not None or self.alert_box.isVisibleTo(self.bar))
        if open_ is not None:
            s = open_.suggestion
            reasons = " · ".join(html.escape(r) for r in s.reasons)
            self.suggestion_text.setText(f"<b>Suggestion: {ACTION_WORDS[s.action].lower()}</b> — {reasons}")
            self.accept_button.setText(f"Accept: {ACTION_WORDS[s.action].lower()}")

    def show_alert(self, alert: Alert) -> None:
        done = " The scene was made safe automatically." if alert.level == "make_safe" else ""
        self._alerts.append(alert.text)
        more = f" (and {len(self._alerts) - 1} earlier)" if len(self._alerts) > 1 else ""
        self.alert_label.setText(f"⚠ {alert.text}.{done}{more}")
        self.alert_box.show()
        self.bar.show()

    def acknowledge_alert(self) -> None:
        """The therapist saw the alerts: logged, and the bar makes room again."""
        if self._alerts:
            self.clinic.model.note("safety", "", "alert acknowledged: " + "; ".join(self._alerts))
        self._alerts.clear()
        self.alert_box.hide()
        self.refresh()

    def load_patient(self, code: str) -> None:
        """The patient's own safety thresholds, when the store has them, apply from when the
        store's thread has read them (a moment later; the defaults stand until then, and
        when none are stored)."""
        self._patient_asked = code
        if self.store is None or not code:
            return

        def read(thresholds: Thresholds | None) -> None:
            if thresholds is None or code != self._patient_asked:
                return  # none stored, or another patient's code was entered since
            if thresholds != self.clinic.safety.thresholds:
                self.clinic.set_thresholds(thresholds)

        def failed(failure: StoreFailure) -> None:
            self.clinic.model.note(
                "error", "", f"safety thresholds of {code} not read: {failure.text} The thresholds in use stand."
            )

        self.store.submit(
            f"reading the safety thresholds of {code}",
            lambda store: stored_thresholds(stored_plans(store, code)),
            done=read,
            failed=failed,
        )

    # -- dialogs ---------------------------------------------------------------------
    def edit_plan(self) -> PlanEditor:
        self.editor = PlanEditor(self.clinic, self.store, self.patient(), self)
        if self.editor.table.rowCount() == 0:
            shown = self.clinic.plan or self.default_plan
            if shown is not None:
                self.editor.name.setEditText(shown.hierarchy.name)
                self.editor.show_plan(shown)
        self.editor.show()
        return self.editor

    def report_safety_event(self) -> SafetyEventDialog:
        self.safety_dialog = SafetyEventDialog(self.clinic, self)
        self.safety_dialog.show()
        return self.safety_dialog


class SafetyEventDialog(QDialog):
    """The quick form: what happened, how bad, a note, and whether to make the scene safe."""

    def __init__(self, clinic: ClinicalSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.clinic = clinic
        self.setWindowTitle("Safety event")
        self.kind = QComboBox()
        for key, label in SAFETY_EVENT_KINDS.items():
            self.kind.addItem(label, key)
        self.severity = QComboBox()
        self.severity.addItems(list(SEVERITIES))
        self.note = QLineEdit()
        self.note.setPlaceholderText("what you saw (optional)")
        self.make_safe = QCheckBox("Make the scene safe now")
        self.severity.currentTextChanged.connect(lambda s: self.make_safe.setChecked(s == "severe"))
        form = QFormLayout(self)
        form.addRow("What", self.kind)
        form.addRow("How bad", self.severity)
        form.addRow("Note", self.note)
        form.addRow("", self.make_safe)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        self.clinic.report_safety_event(
            self.kind.currentData(), self.severity.currentText(), self.note.text().strip(), self.make_safe.isChecked()
        )
        super().accept()


STEP_COLUMNS = ("Step", "Scene", "Values", "Expected SUDS", "May vary", "Today", "Min (s)", "Max (s)")


class PlanEditor(QDialog):
    """The patient's hierarchy (a table of steps), today's plan (which steps, how long),
    the prompts, and the patient's safety thresholds. Saved in the session store."""

    def __init__(self, clinic: ClinicalSession, store: StoreWorker | None, patient: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.clinic, self.store = clinic, store
        if store is not None:
            self._store_delivery = StoreDelivery(store, self)  # the store's answers, in this thread
        self._plans: dict[str, dict] = {}  # the patient's stored plans by name (see _load_names)
        self._asked: str | None = None  # the patient whose plans were last asked of the store
        # The therapist changed the table or the thresholds: plans the store sends later (it
        # may be busy) are listed, but do not overwrite what is on screen.
        self._edited = False
        self._filling = False  # the dialog itself is filling in the table, not the therapist
        self.setWindowTitle("Exposure hierarchy and plan")
        self.resize(980, 560)
        self.patient = QLineEdit(patient)
        self.patient.setPlaceholderText("patient code, e.g. P-014")
        self.patient.editingFinished.connect(self._load_names)
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.setToolTip("The hierarchy's name; pick one of the patient's or type a new name")
        self.name.currentTextChanged.connect(self._load)
        top = QHBoxLayout()
        top.addWidget(QLabel("Patient"))
        top.addWidget(self.patient)
        top.addWidget(QLabel("Hierarchy"))
        top.addWidget(self.name, 1)

        self.table = QTableWidget(0, len(STEP_COLUMNS))
        self.table.setHorizontalHeaderLabels(STEP_COLUMNS)
        header = self.table.horizontalHeader()
        for col, name in enumerate(STEP_COLUMNS):  # room for the words; numbers as narrow as they are
            wide = name in ("Step", "Values", "May vary")
            header.setSectionResizeMode(
                col, QHeaderView.ResizeMode.Stretch if wide else QHeaderView.ResizeMode.ResizeToContents
            )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setToolTip("Values: name=number, …  May vary: name=low..high, … (never more intense than the step)")
        self.table.itemChanged.connect(self._touched)
        add = QPushButton("Add step from the current scene")
        add.setToolTip("A new step with the scene and values the headset shows now")
        add.clicked.connect(self.add_current)
        remove = QPushButton("Remove step")
        remove.clicked.connect(lambda: (self._touched(), self.table.removeRow(self.table.currentRow())))
        up = QPushButton("Move up")
        up.clicked.connect(lambda: (self._touched(), self._move(-1)))
        down = QPushButton("Move down")
        down.clicked.connect(lambda: (self._touched(), self._move(1)))
        rows = QHBoxLayout()
        for b in (add, remove, up, down):
            rows.addWidget(b)
        rows.addStretch(1)

        self.suds_every = QSpinBox(minimum=0, maximum=3600, suffix=" s", value=60)
        self.suds_every.setSpecialValueText("only when you ask (S)")
        self.vary_every = QSpinBox(minimum=0, maximum=3600, suffix=" s", value=0)
        self.vary_every.setSpecialValueText("only when you press Vary")
        self.expectancy = QCheckBox("Ask expectancy before each step and the outcome after it")
        self.expectancy.setChecked(True)
        session = QGroupBox("Today's session")
        sform = QFormLayout(session)
        sform.addRow("Ask SUDS every", self.suds_every)
        sform.addRow("Vary every", self.vary_every)
        sform.addRow(self.expectancy)

        self.limits: dict[str, tuple[QDoubleSpinBox, QDoubleSpinBox]] = {}
        limits = QGroupBox("Safety thresholds (this patient)")
        grid = QGridLayout(limits)
        grid.addWidget(QLabel("alert at"), 0, 1)
        grid.addWidget(QLabel("make safe at"), 0, 2)
        for row, t in enumerate(Thresholds().all(), 1):
            alert, safe = (QDoubleSpinBox(minimum=0, maximum=1000, decimals=0) for _ in range(2))
            for box in (alert, safe):
                box.setSpecialValueText("off")  # 0 = off
                box.setSuffix(f" {t.unit}" if t.unit else "")
                box.valueChanged.connect(self._touched)
            grid.addWidget(QLabel(t.label), row, 0)
            grid.addWidget(alert, row, 1)
            grid.addWidget(safe, row, 2)
            self.limits[t.key] = (alert, safe)

        self.problems = QLabel("")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #8e2a20;")
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton("Save", QDialogButtonBox.ButtonRole.ApplyRole)
        self.start_button = buttons.addButton("Save and start", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.save_button.clicked.connect(self.save)
        self.start_button.clicked.connect(self.save_and_start)
        buttons.rejected.connect(self.reject)

        lower = QHBoxLayout()
        lower.addWidget(session, 1)
        lower.addWidget(limits, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(rows)
        layout.addLayout(lower)
        layout.addWidget(self.problems)
        layout.addWidget(buttons)
        self._show_thresholds(clinic.safety.thresholds)
        self._load_names()

    # -- reading and writing the store ---------------------------------------------------
    def _touched(self, *_: object) -> None:
        if not self._filling:
            self._edited = True

    def _load_names(self) -> None:
        """Ask the store's thread for the patient's plans, once per patient entered; choosing
        a hierarchy then reads them from here (see :meth:`_plans_read`)."""
        code = self.patient.text().strip()
        if code == self._asked:
            return  # the field lost focus, the patient is the same
        self._asked = code
        self._edited = False  # another patient: their stored plans may fill the dialog
        if self.store is None or not code:
            self._plans_read(code, {})
            return
        self.problems.setText(f"Reading the plans of {code} from the session store…")

        def failed(failure: StoreFailure) -> None:
            text = f"The plans of {code} could not be read: {failure.text}"
            if not shiboken6.isValid(self):
                self.clinic.model.note("error", "", text)  # the dialog is gone: the event log says it
            elif code == self._asked:
                self.problems.setText(text)

        self.store.submit(
            f"reading the plans of {code}",
            lambda store: stored_plans(store, code),
            done=while_alive(self, lambda plans: self._plans_read(code, plans)),
            failed=failed,
        )

    def _plans_read(self, code: str, plans: dict[str, dict]) -> None:
        """The patient's stored plans, as the store's thread read them."""
        if code != self._asked:
            return  # another patient was entered meanwhile
        if self.problems.text().startswith("Reading the plans"):
            self.problems.setText("")
        self._plans = plans
        names = [name for name, body in plans.items() if body.get("kind") == "hierarchy"]
        current = self.name.currentText()
        self.name.blockSignals(True)
        self.name.clear()
        self.name.addItems(names)
        self.name.setEditText(current or (names[0] if names else ""))
        self.name.blockSignals(False)
        if self._edited:
            return  # the therapist's changes stay; the stored hierarchies are in the list
        thresholds = stored_thresholds(plans)
        if thresholds is not None:
            self._show_thresholds(thresholds)
        self._load(self.name.currentText())

    def _load(self, name: str) -> None:
        bodies = self._plans
        if name not in bodies:
            return
        try:
            hierarchy = Hierarchy.from_dict(name, bodies[name])
            plan_body = bodies.get(f"{name} · {PLAN_NAME}")
            plan = (
                SessionPlan.from_dict(f"{name} · {PLAN_NAME}", plan_body, hierarchy)
                if plan_body
                else SessionPlan.whole(hierarchy)
            )
        except PlanError as exc:
            self.problems.setText(str(exc))
            return
        self.show_plan(plan)

    def show_plan(self, plan: SessionPlan) -> None:
        self._filling = True
        try:
            self.table.setRowCount(0)
            planned = {p.step: p for p in plan.steps}
            for i, step in enumerate(plan.hierarchy.steps):
                self._add_row(step, planned.get(i))
            self.suds_every.setValue(round(plan.suds_every_s))
            self.vary_every.setValue(round(plan.vary_every_s))
            self.expectancy.setChecked(plan.ask_expectancy)
        finally:
            self._filling = False

    def _show_thresholds(self, t: Thresholds) -> None:
        self._filling = True
        try:
            for th in t.all():
                alert, safe = self.limits[th.key]
                alert.setValue(th.alert_at or 0)
                safe.setValue(th.make_safe_at or 0)
        finally:
            self._filling = False

    def thresholds(self) -> Thresholds:
        made = {}
        for th in Thresholds().all():
            alert, safe = self.limits[th.key]
            made[th.key] = Threshold(th.key, th.label, th.unit, alert.value() or None, safe.value() or None)
        return Thresholds(**made)

    def _add_row(self, step: Step, planned: PlannedStep | None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = (
            step.label,
            step.scene_id,
            values_text(step.values),
            "" if step.expected_suds is None else str(step.expected_suds),
            bounds_text(step.vary),
        )
        for col, text in enumerate(cells):
            self.table.setItem(row, col, QTableWidgetItem(text))
        today = QTableWidgetItem()
        today.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        today.setCheckState(Qt.CheckState.Checked if planned is not None else Qt.CheckState.Unchecked)
        self.table.setItem(row, 5, today)
        p = planned or PlannedStep(row)
        self.table.setItem(row, 6, QTableWidgetItem(f"{p.min_s:g}"))
        self.table.setItem(row, 7, QTableWidgetItem(f"{p.max_s:g}"))

    def add_current(self) -> None:
        h = self.clinic.model.headset()
        if h is None or not h.scene_id:
            self.problems.setText("No headset shows a scene now: connect one, or type the step in the table.")
            return
        values = {
            n: s.requested if s.requested is not None else s.applied
            for n, s in h.parameters.items()
            if (s.requested if s.requested is not None else s.applied) is not None
        }
        scene = h.scene()
        label = f"{scene.label if scene else h.scene_id} {self.table.rowCount() + 1}"
        self._touched()
        self._add_row(Step(label, h.scene_id, values), PlannedStep(self.table.rowCount()))

    def _move(self, delta: int) -> None:
        row = self.table.currentRow()
        other = row + delta
        if row < 0 or not 0 <= other < self.table.rowCount():
            return
        for col in range(self.table.columnCount()):
            a, b = self.table.takeItem(row, col), self.table.takeItem(other, col)
            self.table.setItem(row, col, b)
            self.table.setItem(other, col, a)
        self.table.setCurrentCell(other, 0)

    def plan(self) -> SessionPlan:
        """What the dialog shows, as a plan; raises PlanError with every problem in words."""
        steps, planned, problems = [], [], []

        def text(row: int, col: int) -> str:
            item = self.table.item(row, col)
            return item.text().strip() if item else ""

        for row in range(self.table.rowCount()):
            try:
                suds = text(row, 3)
                steps.append(
                    Step(
                        text(row, 0),
                        text(row, 1),
                        parse_values(text(row, 2)),
                        int(suds) if suds else None,
                        parse_bounds(text(row, 4)),
                    )
                )
                if self.table.item(row, 5).checkState() == Qt.CheckState.Checked:
                    planned.append(PlannedStep(row, float(text(row, 6) or 120), float(text(row, 7) or 600)))
            except (PlanError, ValueError) as exc:
                problems.append(f"Step {row + 1}: {exc}")
        name = self.name.currentText().strip()
        hierarchy = Hierarchy(name, tuple(steps))
        h = self.clinic.model.headset()
        problems += validate(hierarchy, h.scenes if h is not None and h.scenes else None)
        plan = SessionPlan(
            f"{name} · {PLAN_NAME}",
            hierarchy,
            tuple(planned),
            suds_every_s=float(self.suds_every.value()),
            ask_expectancy=self.expectancy.isChecked(),
            vary_every_s=float(self.vary_every.value()),
        )
        if not problems:
            problems += validate_plan(plan)
        if problems:
            raise PlanError("\n".join(problems))
        return plan

    def save(self) -> SessionPlan | None:
        try:
            plan = self.plan()
        except PlanError as exc:
            self.problems.setText(str(exc))
            return None
        code = self.patient.text().strip()
        thresholds = self.thresholds()
        if thresholds != self.clinic.safety.thresholds:
            self.clinic.set_thresholds(thresholds)
        store = self.store if self.store is not None and self.store.problem is None else None
        if store is None or not code:
            self.problems.setText(
                "Not saved for later: "
                + ("enter the patient code." if store else "the session store is not available.")
                + " It can still be run now."
            )
            return plan
        # Saved in the store's thread, in order with its other writes; "Saving" until then.
        bodies = [
            (plan.hierarchy.name, plan.hierarchy.to_dict()),
            (plan.name, plan.to_dict()),
            (Thresholds.STORE_NAME, thresholds.to_dict()),
        ]

        def write(store: SessionStore) -> dict[str, dict]:
            """The store thread."""
            for name, body in bodies:
                store.save_plan(code, name, body)
            return stored_plans(store, code)

        def saved(plans: dict[str, dict]) -> None:
            if code == self._asked:
                self._plans = plans
            self.problems.setText(f"Saved for {code}.")

        def failed(failure: StoreFailure) -> None:
            # The dialog may be closed by now (Save and start): the event log says it first.
            self.clinic.model.note("error", "", f"plan {plan.hierarchy.name!r} not saved for {code}: {failure.text}")
            if shiboken6.isValid(self):
                self.problems.setText(f"Not saved: {failure.text}")

        self.problems.setText(f"Saving for {code}…")
        store.submit(
            f"saving the plan {plan.hierarchy.name!r} of {code}", write, done=while_alive(self, saved), failed=failed
        )
        return plan

    def save_and_start(self) -> None:
        plan = self.save()
        if plan is not None:
            self.clinic.begin(plan)
            self.accept()
