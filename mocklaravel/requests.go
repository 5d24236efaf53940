package mocklaravel

import (
	"strconv"
	"time"
)

// itemShape names the three members of one item kind and checks its value.
type itemShape struct {
	names      [3]string // session id, value, event time
	checkValue func(field) string
}

var (
	qrShape     = itemShape{[3]string{"session_id", "qr", "generated_at"}, checkQR}
	statusShape = itemShape{[3]string{"session_id", "estado_qr", "updated_at"}, checkStatus}
)

// fields picks the shape's three members out of a decoded item.
func (sh itemShape) fields(item any) [3]field {
	m := members(item)
	return [3]field{fieldOf(m[sh.names[0]]), fieldOf(m[sh.names[1]]), fieldOf(m[sh.names[2]])}
}

// validateBatch checks a whole batch under the array key (qrs, statuses)
// and returns its changes, or the error bag. Like Laravel's wildcard rules,
// errors come rule by rule (every session_id, then every value, then every
// time) and are keyed by the item index: "statuses.3.estado_qr".
func validateBatch(key string, shape itemShape, l list, now time.Time) ([]change, *fieldErrors) {
	errs := &fieldErrors{}
	if m := checkList(l); m != "" {
		errs.add(key, message(m, key))
		return nil, errs
	}
	rows := make([][3]field, len(l.items))
	for i, it := range l.items {
		rows[i] = shape.fields(it)
	}
	return validateRows(key, shape, rows, now)
}

// validateRows checks items; prefix "" means a single item whose members
// are top-level keys. The event time is optional: absent, null or "" (which
// Laravel's ConvertEmptyStringsToNull makes null), it is the receive time now.
func validateRows(prefix string, shape itemShape, rows [][3]field, now time.Time) ([]change, *fieldErrors) {
	errs := &fieldErrors{}
	cs := make([]change, len(rows))
	bad := make([][3]string, len(rows))
	failed := false
	for i, r := range rows {
		bad[i][0] = checkSessionID(r[0])
		bad[i][1] = shape.checkValue(r[1])
		if !r[2].present || (r[2].isStr && r[2].s == "") {
			cs[i].at = now
		} else {
			cs[i].at, bad[i][2] = checkTime(r[2])
		}
		cs[i].sessionID, cs[i].value = r[0].s, r[1].s
		failed = failed || bad[i] != [3]string{}
	}
	if !failed {
		return cs, nil
	}
	for col := range 3 {
		for i := range rows {
			if m := bad[i][col]; m != "" {
				attr := attribute(prefix, i, shape.names[col])
				errs.add(attr, message(m, attr))
			}
		}
	}
	return nil, errs
}

// rejectSessions is the reject_sessions fault: a batch naming one of them
// fails like an `exists` rule would, keyed by the item index.
func rejectSessions(prefix string, cs []change, rejected map[string]bool) *fieldErrors {
	if len(rejected) == 0 {
		return nil
	}
	var errs *fieldErrors
	for i, c := range cs {
		if rejected[c.sessionID] {
			if errs == nil {
				errs = &fieldErrors{}
			}
			attr := attribute(prefix, i, "session_id")
			errs.add(attr, message(msgIn, attr))
		}
	}
	return errs
}

func attribute(prefix string, i int, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + strconv.Itoa(i) + "." + name
}
