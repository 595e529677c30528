package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// CorpusSpec describes a synthetic corpus; the same spec gives the same files.
type CorpusSpec struct {
	Files, Words int
	Seed         uint64
}

// DefaultDir is where the corpus of spec is kept between runs.
func (s CorpusSpec) DefaultDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("gorun-wordcount-%d-%d-%d", s.Files, s.Words, s.Seed))
}

// Generate writes the corpus into dir (each file through a temporary name and
// a rename) and returns the file names; existing files are kept. Words follow
// a Zipf-like law over a made-up vocabulary, in mixed case and with
// punctuation, and file sizes vary from half to one and a half times Words.
func Generate(s CorpusSpec, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x776f7264))
	vocab := make([]string, 5000)
	syll := []string{"ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "an", "el", "or", "un", "ve", "zi", "qu"}
	for i := range vocab {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			b.WriteString(syll[rng.IntN(len(syll))])
		}
		fmt.Fprintf(&b, "%s", syll[i%len(syll)])
		vocab[i] = b.String()
	}
	// Zipf: P(rank k) ∝ 1/(k+1); sampled through the cumulative sums.
	cum := make([]float64, len(vocab))
	acc := 0.0
	for k := range vocab {
		acc += 1 / float64(k+1)
		cum[k] = acc
	}
	punct := []string{"", "", "", "", ",", ".", ";", "!", "?"}
	var names []string
	for f := range s.Files {
		name := filepath.Join(dir, fmt.Sprintf("part-%03d.txt", f))
		names = append(names, name)
		n := int(float64(s.Words) * (0.5 + rng.Float64()))
		fileRng := rand.New(rand.NewPCG(s.Seed, uint64(f)))
		if _, err := os.Stat(name); err == nil {
			continue
		}
		tmp, err := os.CreateTemp(dir, ".part-*")
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriter(tmp)
		for i := range n {
			u := fileRng.Float64() * acc
			lo, hi := 0, len(cum)-1
			for lo < hi {
				mid := (lo + hi) / 2
				if cum[mid] < u {
					lo = mid + 1
				} else {
					hi = mid
				}
			}
			word := vocab[lo]
			switch fileRng.IntN(10) {
			case 0:
				word = strings.ToUpper(word[:1]) + word[1:]
			case 1:
				word = strings.ToUpper(word)
			}
			w.WriteString(word)
			w.WriteString(punct[fileRng.IntN(len(punct))])
			if i%12 == 11 {
				w.WriteByte('\n')
			} else {
				w.WriteByte(' ')
			}
		}
		w.WriteByte('\n')
		if err := w.Flush(); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return nil, err
		}
		tmp.Close()
		if err := os.Rename(tmp.Name(), name); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// countWords adds the words of the file to counts: maximal runs of letters
// (and apostrophes inside them), lower-cased.
func countWords(path string, counts map[string]int64) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var total int64
	text := string(data)
	start := -1
	flush := func(end int) {
		if start >= 0 {
			w := strings.Trim(text[start:end], "'")
			if w != "" {
				w = lower(w)
				if _, seen := counts[w]; !seen {
					w = strings.Clone(w) // do not keep the file's text alive
				}
				counts[w]++
				total++
			}
			start = -1
		}
	}
	for i, r := range text {
		if unicode.IsLetter(r) || (r == '\'' && start >= 0) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(text))
	return total, nil
}

// lower is strings.ToLower without the allocation when w is already lower
// case ASCII, the common case.
func lower(w string) string {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(w)
		}
	}
	return w
}
