# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 3 variant of unity_bridge/godot/templates/peer_clock.gd.in: edit that, then regenerate.
# What the engine knows about the console's heartbeats and clock (SPEC.md section 5), the
# GDScript counterpart of protocol/timing.py's PeerClock: which beats count, round-trip
# time and clock offset by the NTP method.
#
# late_after_s: a beat whose send time, moved into our clock, is older than this is
# ignored (it was queued somewhere, e.g. during a freeze, and proves nothing about now).
# Times are seconds of the engine's monotonic clock; negative values mean "never".
extends Reference

const Messages = preload("messages.gd")

var late_after_s := 0.5
var window_s := 10.0
var last_seq := -1
var last_counted_at := -1.0  # local time of the last beat that counted; < 0 before the first
var duplicates := 0
var late := 0
var _echo_seq := -1
var _echo_sent_at := 0.0
var _echo_received_at := 0.0
var _samples := []  # [at, rtt_s, offset_s], oldest first
var _last_echo_seq := -2


func has_estimate() -> bool:
	return _samples.size() > 0


# Console clock minus engine clock, from the sample with the smallest round trip (0 before any).
func offset_s() -> float:
	var best = null
	for sample in _samples:
		if best == null or sample[1] < best[1]:
			best = sample
	return 0.0 if best == null else best[2]


# Median round-trip time over the last 20 samples; -1 before any.
func rtt_s() -> float:
	if _samples.size() == 0:
		return -1.0
	var recent := []
	for i in range(max(0, _samples.size() - 20), _samples.size()):
		recent.append(_samples[i][1])
	recent.sort()
	var n := recent.size()
	if n % 2 == 1:
		return recent[(n - 1) / 2]
	return (recent[n / 2 - 1] + recent[n / 2]) / 2.0


func to_local(peer_time: float) -> float:
	return peer_time - offset_s()


# t1 we sent, t2 peer received, t3 peer sent, t4 we received (t1 and t4 ours).
func add_sample(t1: float, t2: float, t3: float, t4: float) -> void:
	var rtt := (t4 - t1) - (t3 - t2)
	if rtt < -0.001 or (t3 - t2) < -0.001:
		return  # impossible: clocks went backwards, or the echo of something else
	_samples.append([t4, max(rtt, 0.0), ((t2 - t1) + (t3 - t4)) / 2.0])
	while _samples.size() > 0 and _samples[0][0] < t4 - window_s:
		_samples.pop_front()


func reset() -> void:
	last_seq = -1
	last_counted_at = -1.0
	_echo_seq = -1
	_echo_sent_at = 0.0
	_echo_received_at = 0.0
	_samples = []
	_last_echo_seq = -2


# The console's beats of a new connection start from seq 0 again.
func restart_sequence() -> void:
	last_seq = -1


# Record a heartbeat from the console; true when it counts as proof of life.
func on_heartbeat(beat: Dictionary, received_at: float) -> bool:
	var echo_seq: int = beat["echo_seq"]
	if echo_seq >= 0 and echo_seq != _last_echo_seq:
		_last_echo_seq = echo_seq
		add_sample(beat["echo_sent_at"], beat["echo_received_at"], beat["sent_at"], received_at)
	var seq: int = beat["seq"]
	if seq <= last_seq:
		duplicates += 1
		return false
	last_seq = seq
	_echo_seq = seq
	_echo_sent_at = beat["sent_at"]
	_echo_received_at = received_at
	if has_estimate() and received_at - to_local(beat["sent_at"]) > late_after_s:
		late += 1
		return false
	last_counted_at = received_at
	return true


# Seconds since the last counted beat; -1 before the first.
func silent_for(at: float) -> float:
	return -1.0 if last_counted_at < 0.0 else at - last_counted_at


# Our next heartbeat, echoing the console's last one.
func heartbeat(seq: int, sent_at: float) -> Dictionary:
	return Messages.heartbeat(seq, sent_at, _echo_seq, _echo_sent_at, _echo_received_at)
