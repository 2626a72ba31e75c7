# The addon's cryptography (nacl.gd) in the Godot 3 runtime, on inputs chosen by the test:
#   godot3-server --path <project> -s res://nacl_check.gd -- --cases in.json --out out.json
# in.json lists cases by operation (hex strings); out.json gets the same lists with this
# implementation's answers, which the test compares with libsodium's (PyNaCl, pyzmq).
# With "bench" in in.json it also times the operations a connection needs.
extends SceneTree

const Nacl = preload("res://addons/vrclinic/nacl.gd")
const Keys = preload("res://addons/vrclinic/keys.gd")


func _init() -> void:
	var args := Array(OS.get_cmdline_args())
	var cases_at := args.find("--cases")
	var out_at := args.find("--out")
	if cases_at < 0 or out_at < 0 or cases_at + 1 >= args.size() or out_at + 1 >= args.size():
		printerr("usage: -s res://nacl_check.gd -- --cases in.json --out out.json")
		quit(2)
		return
	var file := File.new()
	if file.open(args[cases_at + 1], File.READ) != OK:
		printerr("cannot read %s" % args[cases_at + 1])
		quit(2)
		return
	var parsed := JSON.parse(file.get_as_text())
	file.close()
	if parsed.error != OK:
		printerr("the cases are not JSON: %s" % parsed.error_string)
		quit(2)
		return
	var cases: Dictionary = parsed.result
	var out := {}
	for op in cases:
		if op == "bench":
			out[op] = _bench(cases[op])
			continue
		var answers := []
		for case in cases[op]:
			answers.append(_answer(op, case))
		out[op] = answers
	if file.open(args[out_at + 1], File.WRITE) != OK:
		printerr("cannot write %s" % args[out_at + 1])
		quit(2)
		return
	file.store_string(to_json(out))
	file.close()
	print("nacl_check: done")
	quit(0)


static func _hex(text: String) -> PoolByteArray:
	return Nacl.from_hex(text)


static func _maybe_hex(value) -> String:
	return "" if value == null else Nacl.to_hex(value)


func _answer(op: String, case: Dictionary):
	if op == "x25519":
		return Nacl.to_hex(Nacl.scalarmult(_hex(case["n"]), _hex(case["p"])))
	if op == "x25519_job":
		# The same through the sliced job, in slices of 1 ms: it must give the same answer.
		var job := Nacl.scalarmult_job(_hex(case["n"]), _hex(case["p"]))
		var durations := []
		var done := false
		while not done:
			var t0 := OS.get_ticks_usec()
			done = Nacl.job_run(job, 1000)
			durations.append(OS.get_ticks_usec() - t0)
		durations.sort()
		var median: int = durations[durations.size() / 2]
		return {"result": Nacl.to_hex(job["result"]), "slices": durations.size(), "median_slice_usec": median}
	if op == "seal_job":
		# secretbox in slices of 1 ms (what send_later does with a big frame).
		var nonce := _hex(case["n"])
		var sub := Nacl.subkey(_hex(case["k"]), nonce.subarray(0, 15))
		var job := Nacl.seal_job(_hex(case["m"]), sub, nonce.subarray(16, 23))
		var slices := 1
		while not Nacl.seal_run(job, 1000):
			slices += 1
		return {"result": Nacl.to_hex(job["result"]), "slices": slices}
	if op == "public":
		return Nacl.z85_encode(Nacl.public_key(Nacl.z85_decode(case["secret"])))
	if op == "beforenm":
		return Nacl.to_hex(Nacl.box_beforenm(_hex(case["pk"]), _hex(case["sk"])))
	if op == "secretbox":
		return Nacl.to_hex(Nacl.secretbox(_hex(case["m"]), _hex(case["n"]), _hex(case["k"])))
	if op == "secretbox_open":
		return _maybe_hex(Nacl.secretbox_open(_hex(case["c"]), _hex(case["n"]), _hex(case["k"])))
	if op == "box":
		return Nacl.to_hex(Nacl.box(_hex(case["m"]), _hex(case["n"]), _hex(case["pk"]), _hex(case["sk"])))
	if op == "box_open":
		return _maybe_hex(Nacl.box_open(_hex(case["c"]), _hex(case["n"]), _hex(case["pk"]), _hex(case["sk"])))
	if op == "poly1305":
		return Nacl.to_hex(Nacl.poly1305(_hex(case["m"]), _hex(case["k"])))
	if op == "z85_decode":
		var raw = Nacl.z85_decode(case["text"])
		return null if raw == null else Nacl.to_hex(raw)
	if op == "z85_encode":
		return Nacl.z85_encode(_hex(case["hex"]))
	if op == "pairing_code":
		return Keys.pairing_code(Nacl.z85_decode(case["console"]), Nacl.z85_decode(case["engine"]))
	return "unknown operation " + op


# Microseconds per operation, the median of `repeat` runs.
func _bench(spec: Dictionary) -> Dictionary:
	var repeat := int(spec.get("repeat", 3))
	var secret := Nacl.random_bytes(32)
	var other := Nacl.public_key(Nacl.random_bytes(32))
	var key := Nacl.random_bytes(32)
	var sub := Nacl.subkey(key, Nacl.random_bytes(16))
	var nonce8 := Nacl.random_bytes(8)
	var result := {}
	result["x25519_usec"] = _median(repeat, funcref(self, "_time_x25519"), [secret, other])
	for size in spec.get("sizes", [64]):
		var data := Nacl.random_bytes(int(size))
		var boxed := Nacl.secretbox_sub(data, sub, nonce8)
		result["seal_%d_usec" % int(size)] = _median(repeat, funcref(self, "_time_seal"), [data, sub, nonce8])
		result["open_%d_usec" % int(size)] = _median(repeat, funcref(self, "_time_open"), [boxed, sub, nonce8])
	return result


static func _median(repeat: int, what: FuncRef, args: Array) -> int:
	var times := []
	for i in range(repeat):
		times.append(what.call_funcv(args))
	times.sort()
	return times[times.size() / 2]


func _time_x25519(secret: PoolByteArray, point: PoolByteArray) -> int:
	var t0 := OS.get_ticks_usec()
	Nacl.scalarmult(secret, point)
	return OS.get_ticks_usec() - t0


func _time_seal(data: PoolByteArray, sub: Array, nonce8: PoolByteArray) -> int:
	var t0 := OS.get_ticks_usec()
	Nacl.secretbox_sub(data, sub, nonce8)
	return OS.get_ticks_usec() - t0


func _time_open(boxed: PoolByteArray, sub: Array, nonce8: PoolByteArray) -> int:
	var t0 := OS.get_ticks_usec()
	var opened = Nacl.secretbox_open_sub(boxed, sub, nonce8)
	var took := OS.get_ticks_usec() - t0
	if opened == null:
		return -1
	return took
