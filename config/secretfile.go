package config

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
)

// Every key of type Secret, K, may instead be given as K_file: the path of
// a file holding the value (a Kubernetes Secret mounted as a file, a
// systemd credential in $CREDENTIALS_DIRECTORY), read when the
// configuration is loaded, trailing line breaks trimmed. A map of Secrets
// (http headers) likewise accepts K_file, a map of the same names to
// paths. K and K_file together is a problem; so is a file that cannot be
// read, named by its key, never by its content.

// secretFileSuffix is the suffix of a Secret key read from a file.
const secretFileSuffix = "_file"

// maxSecretFileBytes bounds a secret file.
const maxSecretFileBytes = 64 << 10

var secretMapType = reflect.TypeFor[map[string]Secret]()

// secretFileField returns the field of fs that key (`K_file`) reads from a
// file: a Secret or a map of Secrets named K.
func secretFileField(fs *fieldSet, t reflect.Type, key string) ([]int, bool) {
	base, ok := strings.CutSuffix(key, secretFileSuffix)
	if !ok {
		return nil, false
	}
	f, ok := fs.byKey[base]
	if !ok {
		return nil, false
	}
	ft := t.FieldByIndex(f).Type
	return f, ft == secretType || ft == secretMapType
}

// decodeSecretFiles reads the `K_file` keys of files into the fields of v
// (a struct of fieldSet fs); given are all the keys of the mapping, to
// refuse K and K_file together.
func (d *decoder) decodeSecretFiles(files, given []pair, fs *fieldSet, v reflect.Value, path string) {
	for _, p := range files {
		kp := joinKey(path, p.key)
		base := strings.TrimSuffix(p.key, secretFileSuffix)
		f := v.FieldByIndex(fs.byKey[base])
		isGiven := slices.ContainsFunc(given, func(g pair) bool { return g.key == base })
		if f.Type() == secretType {
			if isGiven {
				d.probs.add(kp, "set "+base+" or "+p.key+", not both")
				continue
			}
			var path string
			d.decode(p.value, reflect.ValueOf(&path).Elem(), kp)
			if path == "" {
				continue
			}
			if s, ok := d.readSecretFile(kp, path); ok {
				f.SetString(s)
			}
			continue
		}
		// A map of Secrets: the files' entries join those given inline.
		var paths map[string]string
		d.decode(p.value, reflect.ValueOf(&paths).Elem(), kp)
		for _, k := range slices.Sorted(maps.Keys(paths)) {
			if isGiven && f.MapIndex(reflect.ValueOf(k)).IsValid() {
				d.probs.add(joinKey(kp, k), "set in "+base+" too")
				continue
			}
			s, ok := d.readSecretFile(joinKey(kp, k), paths[k])
			if !ok {
				continue
			}
			if f.IsNil() {
				f.Set(reflect.MakeMap(secretMapType))
			}
			f.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(Secret(s)))
		}
	}
}

// readSecretFile returns the content of the file at path, trailing line
// breaks trimmed, or adds a problem at kp that names neither the content
// nor the path (only why it cannot be read).
func (d *decoder) readSecretFile(kp, path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		d.probs.add(kp, "cannot read the file: "+fileReason(err))
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		d.probs.add(kp, "cannot read the file: "+fileReason(err))
		return "", false
	}
	if len(b) > maxSecretFileBytes {
		d.probs.add(kp, "the file is larger than 64 KiB")
		return "", false
	}
	return strings.TrimRight(string(b), "\r\n"), true
}

// fileReason is why a file cannot be read, without its path.
func fileReason(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.As(err, &pe):
		return pe.Err.Error()
	}
	return "read error"
}
