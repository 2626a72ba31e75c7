# The addon's ZMTP CURVE transport (zmtp.gd) on its own, in the Godot 3 runtime, against a
# CURVE server chosen by the test:
#   godot3-server --path <project> -s res://curve_check.gd -- --port P --keys keys.json --big N
# Connects, sends "small-0", queues an N-byte frame with send_later() (bytes i * 7 mod 251),
# sends "small-1", "small-2", ... while that frame is being sealed, then "small-after", and
# prints one line "curve_check: {json}" with what it measured: the longest poll() while
# connecting and the longest and median while sealing (microseconds), the key work of the
# handshake and over how many polls it was spread, the handshake's wall time, how long the
# big frame took to go out, and how many small frames overtook it.
extends SceneTree

const Zmtp = preload("res://addons/vrclinic/zmtp.gd")
const Keys = preload("res://addons/vrclinic/keys.gd")

var zmtp = null
var big_size := 0
var stage := "connecting"
var smalls := 0
var longest_connecting := 0
var longest_sealing := 0
var sealing_polls := []
var quit_at := -1.0


func _init() -> void:
	var args := Array(OS.get_cmdline_args())
	var keys = Keys.new()
	keys.load_or_create(args[args.find("--keys") + 1])
	if keys.problem != "":
		printerr(keys.problem)
		quit(2)
		return
	big_size = int(args[args.find("--big") + 1])
	zmtp = Zmtp.new()
	zmtp.curve_server_key = keys.console_key
	zmtp.curve_public_key = keys.public_key
	zmtp.curve_secret_key = keys.secret_key
	zmtp.crypto_budget_usec = int(args[args.find("--budget") + 1]) if args.has("--budget") else 2000
	zmtp.open("127.0.0.1", int(args[args.find("--port") + 1]), _now())


static func _now() -> float:
	return OS.get_ticks_usec() / 1000000.0


func _idle(_delta: float) -> bool:
	var t0 := OS.get_ticks_usec()
	var events: Array = zmtp.poll(_now())
	var took := OS.get_ticks_usec() - t0
	if stage == "connecting":
		longest_connecting = int(max(longest_connecting, took))
	elif stage == "sealing":
		longest_sealing = int(max(longest_sealing, took))
		sealing_polls.append(took)
	for ev in events:
		if ev["kind"] == "up" and stage == "connecting":
			stage = "sealing"
			_send_text("small-0")
			var big := PoolByteArray()
			big.resize(big_size)
			for i in range(big_size):
				big[i] = (i * 7) % 251
			if not zmtp.send_later(big, _now()):
				printerr("send_later refused the frame")
				quit(1)
		elif ev["kind"] == "down":
			printerr("connection down: %s" % ev["why"])
			quit(1)
	if stage == "sealing":
		if zmtp.is_sending_later():
			smalls += 1
			_send_text("small-%d" % smalls)
		else:
			_send_text("small-after")
			stage = "done"
			quit_at = _now() + 0.5
			sealing_polls.sort()
			var report := {
				"longest_poll_connecting_usec": longest_connecting,
				"longest_poll_sealing_usec": longest_sealing,
				"median_poll_sealing_usec": sealing_polls[sealing_polls.size() / 2] if sealing_polls.size() > 0 else 0,
				"polls_sealing": sealing_polls.size(),
				"handshake_key_work_usec": zmtp.last_key_work_usec,
				"handshake_key_polls": zmtp.last_key_polls,
				"handshake_s": zmtp.last_handshake_s,
				"big_frame_out_after_s": zmtp.last_later_seal_s,
				"overtaking_smalls": smalls,
			}
			print("curve_check: " + to_json(report))
	if quit_at > 0.0 and _now() > quit_at:
		zmtp.close()
		quit(0)
	return false


func _send_text(text: String) -> void:
	zmtp.send([text.to_utf8()], _now())
