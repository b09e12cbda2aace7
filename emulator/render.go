package emulator

import (
	"strconv"
)

// JSON members of an APPLICATION_LOG, in the order they are written.
const (
	fID = iota
	fDate
	fApplicationID
	fCommitID
	fDeploymentID
	fInstanceID
	fZone
	fRegion
	fPID
	fVersion
	fFacility
	fSeverity
	fPriority
	fService
	fMessage
	nFields
)

var fieldNames = [nFields]string{
	"id", "date", "applicationId", "commitId", "deploymentId", "instanceId", "zone", "region",
	"pid", "version", "facility", "severity", "priority", "service", "message",
}

// fieldMask selects JSON members (bit i = field i).
type fieldMask uint32

const allFields fieldMask = 1<<nFields - 1

// fragments are an app's precomputed JSON pieces.
type fragments struct {
	app *appState
	// static[inst][f]: `"name":value` of the per-instance members (nil when absent).
	static [][nFields][]byte
	// instJoined[inst]: all per-instance members, each followed by a comma.
	instJoined [][]byte
	// kindField[svc][sev][f]: `"name":value` of facility, severity, priority, service.
	kindField [][][nFields][]byte
	// kindJoined[svc][sev]: those four, each followed by a comma.
	kindJoined [][][]byte
	pad        int
}

func member(name string, value []byte) []byte {
	b := append([]byte{'"'}, name...)
	b = append(b, '"', ':')
	return append(b, value...)
}

func quoted(s string) []byte {
	b := append([]byte{'"'}, appendJSONString(nil, s)...)
	return append(b, '"')
}

func newFragments(a *appState) *fragments {
	f := &fragments{app: a, pad: a.cfg.MessageBytes}
	for _, in := range a.instances {
		var st [nFields][]byte
		st[fApplicationID] = member("applicationId", quoted(a.cfg.ID))
		st[fCommitID] = member("commitId", quoted(in.commitID))
		st[fDeploymentID] = member("deploymentId", quoted(in.deploymentID))
		st[fInstanceID] = member("instanceId", quoted(in.id))
		st[fZone] = member("zone", quoted(a.cfg.Zone))
		if a.cfg.Region != "" {
			st[fRegion] = member("region", quoted(a.cfg.Region))
		}
		st[fPID] = member("pid", strconv.AppendInt(nil, int64(in.pid), 10))
		st[fVersion] = member("version", quoted("1"))
		var joined []byte
		for i := fApplicationID; i <= fVersion; i++ {
			if st[i] != nil {
				joined = append(joined, st[i]...)
				joined = append(joined, ',')
			}
		}
		f.static = append(f.static, st)
		f.instJoined = append(f.instJoined, joined)
	}
	for _, svc := range services {
		var perSev [][nFields][]byte
		var joinedSev [][]byte
		for _, sev := range severities {
			var k [nFields][]byte
			if a.cfg.NumericFacility {
				k[fFacility] = member("facility", strconv.AppendInt(nil, int64(svc.code), 10))
			} else {
				k[fFacility] = member("facility", quoted(svc.facility))
			}
			k[fSeverity] = member("severity", quoted(sev.name))
			k[fPriority] = member("priority", strconv.AppendInt(nil, int64(svc.code*8+sev.level), 10))
			k[fService] = member("service", quoted(svc.name))
			var joined []byte
			for i := fFacility; i <= fService; i++ {
				joined = append(joined, k[i]...)
				joined = append(joined, ',')
			}
			perSev = append(perSev, k)
			joinedSev = append(joinedSev, joined)
		}
		f.kindField = append(f.kindField, perSev)
		f.kindJoined = append(f.kindJoined, joinedSev)
	}
	return f
}

// appendFull appends the complete JSON of a line: the fast path, no allocation when dst has room.
func (f *fragments) appendFull(dst []byte, pos int64, r rec, df *dateFormatter) []byte {
	dst = append(dst, `{"id":"`...)
	dst = appendLineID(dst, f.app.key, pos)
	dst = append(dst, `","date":"`...)
	dst = f.appendDate(dst, r.date, df)
	dst = append(dst, `",`...)
	dst = append(dst, f.instJoined[r.inst]...)
	dst = append(dst, f.kindJoined[r.svc][r.sev]...)
	dst = append(dst, `"message":"`...)
	dst = appendMessage(dst, r.tmpl, pos, r.n, f.pad, true)
	return append(dst, `"}`...)
}

// appendFields appends the JSON of a line with only the members in mask, separated by sep
// (a comma, possibly followed by a line break and a "data:" prefix).
func (f *fragments) appendFields(dst []byte, pos int64, r rec, mask fieldMask, sep []byte, df *dateFormatter) []byte {
	dst = append(dst, '{')
	first := true
	for i := range nFields {
		if mask&(1<<i) == 0 {
			continue
		}
		var m []byte
		switch i {
		case fID, fDate, fMessage:
		case fFacility, fSeverity, fPriority, fService:
			m = f.kindField[r.svc][r.sev][i]
		default:
			m = f.static[r.inst][i]
			if m == nil {
				continue
			}
		}
		if !first {
			dst = append(dst, sep...)
		}
		first = false
		switch i {
		case fID:
			dst = append(dst, `"id":"`...)
			dst = appendLineID(dst, f.app.key, pos)
			dst = append(dst, '"')
		case fDate:
			dst = append(dst, `"date":"`...)
			dst = f.appendDate(dst, r.date, df)
			dst = append(dst, '"')
		case fMessage:
			dst = append(dst, `"message":"`...)
			dst = appendMessage(dst, r.tmpl, pos, r.n, f.pad, true)
			dst = append(dst, '"')
		default:
			dst = append(dst, m...)
		}
	}
	return append(dst, '}')
}

// appendDate appends the date of a line dated ms, with microseconds for an app with
// SubMillisecond.
func (f *fragments) appendDate(dst []byte, ms int64, df *dateFormatter) []byte {
	dst = df.append(dst, ms)
	if !f.app.cfg.SubMillisecond {
		return dst
	}
	us := f.app.micros(ms) - ms*1000
	dst = dst[:len(dst)-1] // the 'Z'
	return append(dst, byte('0'+us/100), byte('0'+us/10%10), byte('0'+us%10), 'Z')
}

// dateFormatter writes unix milliseconds as "2006-01-02T15:04:05.000Z", caching the part
// up to the seconds (consecutive lines mostly share it). Not safe for concurrent use.
type dateFormatter struct {
	sec    int64
	prefix [20]byte
	valid  bool
}

func (d *dateFormatter) append(dst []byte, ms int64) []byte {
	sec := floorDiv(ms, 1000)
	if !d.valid || sec != d.sec {
		d.sec, d.valid = sec, true
		d.fill(sec)
	}
	m := ms - sec*1000
	dst = append(dst, d.prefix[:]...) // "YYYY-MM-DDTHH:MM:SS."
	return append(dst, byte('0'+m/100), byte('0'+m/10%10), byte('0'+m%10), 'Z')
}

func (d *dateFormatter) fill(sec int64) {
	days := floorDiv(sec, 86400)
	rem := sec - days*86400
	y, mo, da := civil(days)
	p := d.prefix[:0]
	p = append4(p, y)
	p = append(p, '-')
	p = append2(p, mo)
	p = append(p, '-')
	p = append2(p, da)
	p = append(p, 'T')
	p = append2(p, int(rem/3600))
	p = append(p, ':')
	p = append2(p, int(rem/60%60))
	p = append(p, ':')
	p = append2(p, int(rem%60))
	_ = append(p, '.')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
func civil(z int64) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
