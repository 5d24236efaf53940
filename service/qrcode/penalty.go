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

// Light rows bitPenalty reads around a symbol: a finder look-alike in a
// column checks four modules before it and ten from its start.
const (
	lightAbove = 4
	lightBelow = 11
)

// bitPenalty is penalty for a symbol up to 64 modules wide given as rows
// (bit x of row y is module (x, y)): each rule becomes a few shifts and
// population counts per row, and the columns are scored all at once, a row
// at a time, bit x being column x.
//
// It scores the whole symbol: stopping once a mask's running total passes
// the best so far saved nothing measurable, since the eight masks' scores
// differ by a few percent and a loser crosses the bound near the end.
func bitPenalty(rows []uint64, size int) int {
	all := ^uint64(0) >> (64 - size)
	// padded is rows with light rows around; belowEqual[y+1] says which
	// modules of row y equal the ones below, none for the last row.
	var padded [lightAbove + 64 + lightBelow]uint64
	var belowEqual [1 + 64 + 3]uint64
	p, dark := 0, 0
	// Rows, with rule 2: a 2×2 block is two equal neighbours in a row, the
	// same in the row below, and the rows equal there.
	var prev, prevEqual uint64
	for y, r := range rows {
		padded[lightAbove+y] = r
		vertical := ^(prev ^ r) & all
		belowEqual[y] = vertical
		lp, equal := bitLinePenalty(r, all)
		p += lp + 3*bits.OnesCount64(prevEqual&equal&vertical)
		prev, prevEqual = r, equal
		dark += bits.OnesCount64(r)
	}
	total := size * size
	p += 10 * (abs(2*dark-total) * 10 / total)
	// Columns, as bitLinePenalty scores a line, with row offsets for shifts.
	var fourAbove, lastAbove uint64
	for y := range size {
		equal := belowEqual[y+1:][:4]           // rows y…y+3 with the row below
		w := padded[y:][:lightAbove+lightBelow] // rows y-4…y+10
		pairs2 := equal[2] & equal[3]
		four := equal[0] & equal[1] & pairs2
		// As in bitLinePenalty, a run's 2 extra points are the (zero)
		// four bits of the two rows after its last one.
		last := fourAbove &^ four // row y-1 is a run's last four
		p += bits.OnesCount64(four | last | lastAbove)
		fourAbove, lastAbove = four, last
		turns := (w[4] ^ w[5]) & (w[5] ^ w[6])
		turns4 := (w[8] ^ w[9]) & (w[9] ^ w[10])
		finder := w[4] & turns & turns4 & pairs2
		finder &^= (w[0] | w[1] | w[2] | w[3]) & (w[11] | w[12] | w[13] | w[14])
		p += 40 * bits.OnesCount64(finder)
	}
	return p
}

// bitLinePenalty is linePenalty for one line as a word, and the line's
// equal neighbours (bit i: module i equals module i+1) for rule 2. Modules
// outside the line read as zero, that is light, as rule 3 wants.
func bitLinePenalty(r, all uint64) (p int, equal uint64) {
	differ := r ^ r>>1
	equal = ^differ & (all >> 1)
	// Rule 1: four[i] says modules i…i+4 are one colour; a run of L ≥ 5
	// modules has L-4 of them. Its L-2 points are those plus the two
	// (zero) bits after its last one.
	pairs := equal & (equal >> 1) // modules i…i+2 one colour
	four := pairs & (pairs >> 2)
	last := four &^ (four >> 1)
	p = bits.OnesCount64(four | last<<1 | last<<2)
	// Rule 3: finder[i] says modules i…i+6 are dark-light-dark-dark-dark-
	// light-dark: module i dark, i+1 and i+5 each differing from both
	// neighbours, i+2…i+4 one colour. It counts with modules i-4…i-1 or
	// i+7…i+10 light.
	turns := differ & (differ >> 1)
	finder := r & turns & (turns >> 4) & (pairs >> 2) & (all >> 6)
	dark := r | r<<1
	dark |= dark << 2 // bit j: a dark module among j-3…j
	finder &^= dark << 1 & (dark >> 10)
	return p + 40*bits.OnesCount64(finder), equal
}
