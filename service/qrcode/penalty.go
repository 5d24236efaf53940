package qrcode

import "math/bits"

// penalty scores a candidate symbol by the four rules of ISO/IEC 18004
// section 7.8.3, as ZXing counts them: the mask with the lowest score has the
// fewest runs, blocks and finder look-alikes that confuse a camera.
func penalty(m []byte, size int) int {
	p := 0
	for i := range size {
		p += linePenalty(m, i*size, 1, size) // row i
		p += linePenalty(m, i, size, size)   // column i
	}
	// Rule 2: every 2×2 block of one colour.
	for y := 0; y+1 < size; y++ {
		top, bottom := m[y*size:][:size], m[(y+1)*size:][:size]
		for x := 0; x+1 < size; x++ {
			c := top[x]
			if c == top[x+1] && c == bottom[x] && c == bottom[x+1] {
				p += 3
			}
		}
	}
	// Rule 4: 10 points per 5 % the dark share is away from half.
	dark := 0
	for _, c := range m {
		dark += int(c)
	}
	total := size * size
	return p + 10*(abs(2*dark-total)*10/total)
}

// finder is the 1:1:3:1:1 dark-light-dark-light-dark run of a finder pattern.
const finder = 0b1011101

// linePenalty scores one row or column (modules start, start+step, …) by
// rule 1 (runs of five or more of one colour: 3 + the excess) and rule 3 (a
// finder look-alike with four light modules before or after it: 40; modules
// outside the symbol count as light).
func linePenalty(m []byte, start, step, size int) int {
	p, run := 0, 0
	var prev byte = 2
	// window holds the last 15 modules: 4 before, the 7 of a pattern, 4 after.
	var window uint32
	for i := range size + 4 {
		var c byte
		if i < size {
			c = m[start+i*step]
			if c == prev {
				run++
			} else {
				if run >= 5 {
					p += run - 2
				}
				prev, run = c, 1
			}
		}
		window = (window<<1 | uint32(c)) & 0x7fff
		// The pattern ends at module i-4; it must start inside the line.
		if i >= 10 && (window>>4)&0x7f == finder && (window>>11 == 0 || window&0xf == 0) {
			p += 40
		}
	}
	if run >= 5 {
		p += run - 2
	}
	return p
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// bitPenalty is penalty for a symbol up to 64 modules wide given as rows
// and columns (bit i of a line is its module i): each rule becomes a few
// shifts and population counts per line instead of a loop over modules.
func bitPenalty(rows, cols []uint64, size int) int {
	all := ^uint64(0) >> (64 - size)
	p, dark := 0, 0
	for i := range size {
		p += bitLinePenalty(rows[i], all) + bitLinePenalty(cols[i], all)
		dark += bits.OnesCount64(rows[i])
	}
	// Rule 2: a 2×2 block is two equal neighbours in a row, the same below.
	for y := 0; y+1 < size; y++ {
		a, b := rows[y], rows[y+1]
		same := ^(a ^ b) & ^(a ^ a>>1) & ^(b ^ b>>1) & (all >> 1)
		p += 3 * bits.OnesCount64(same)
	}
	total := size * size
	return p + 10*(abs(2*dark-total)*10/total)
}

// bitLinePenalty is linePenalty for one line as a word. Modules outside the
// line read as zero, that is light, as rule 3 wants.
func bitLinePenalty(r, all uint64) int {
	// Rule 1: equal[i] says module i equals module i+1; a run of L ≥ 5
	// modules is L-1 ones there, of which L-4 start four ones in a row. Its
	// L-2 points are those plus 2 for the run.
	equal := ^(r ^ r>>1) & (all >> 1)
	four := equal & (equal >> 1) & (equal >> 2) & (equal >> 3)
	starts := four & ^(four << 1)
	p := bits.OnesCount64(four) + 2*bits.OnesCount64(starts)
	// Rule 3: finder[i] says modules i…i+6 are dark-light-dark-dark-dark-
	// light-dark; light before means modules i-4…i-1, after i+7…i+10.
	finder := r & ^(r >> 1) & (r >> 2) & (r >> 3) & (r >> 4) & ^(r >> 5) & (r >> 6) & (all >> 6)
	lightBefore := ^(r<<1 | r<<2 | r<<3 | r<<4)
	lightAfter := ^(r>>7 | r>>8 | r>>9 | r>>10)
	return p + 40*bits.OnesCount64(finder&(lightBefore|lightAfter))
}
