package parallel

import "reflect"

// asString and asUint64 read a Key of a defined type through reflection
// only when the fast type switch does not match.
func asString[K Key](k K) (string, bool) {
	v := reflect.ValueOf(k)
	if v.Kind() == reflect.String {
		return v.String(), true
	}
	return "", false
}

func asUint64[K Key](k K) uint64 {
	switch v := any(k).(type) {
	case int:
		return uint64(v)
	case int64:
		return uint64(v)
	case int32:
		return uint64(v)
	case uint64:
		return v
	case uint32:
		return uint64(v)
	case uint:
		return uint64(v)
	}
	v := reflect.ValueOf(k)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return uint64(v.Int())
	default:
		return v.Uint()
	}
}
