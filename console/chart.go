package console

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// Charts are drawn on the server as inline SVG: no script, no build step,
// and nothing the Content Security Policy has to allow (shapes are styled by
// class from charts.css, never by a style attribute). Each chart has a text
// alternative, and every page that shows one shows its figures as a table
// too, for screen readers and for exact reading.

// chartSeries is one set of bars: a value per label, in minor units.
type chartSeries struct {
	Name   string
	Class  string // the CSS class that colours it, "s-new"…
	Values []int64
}

// barChart is a bar chart over labels (months): grouped bars side by side,
// or stacked, with negative values below the zero line.
type barChart struct {
	ID      string // unique on the page, for aria-labelledby
	Title   string // what it shows, read by screen readers
	Labels  []string
	Series  []chartSeries
	Stacked bool
	Format  func(int64) string // a tick's label
}

// The drawing area, in viewBox units: the SVG scales to its container.
const (
	chartW, chartH            = 480, 220
	padLeft, padRight         = 64, 8
	padTop, padBottom         = 10, 28
	chartFont                 = 12
	plotW, plotH              = chartW - padLeft - padRight, chartH - padTop - padBottom
	barGap            float64 = 0.25 // of a label's width, between groups
)

// extent returns the largest sum above zero and the lowest below, over the
// labels, as the bars will be drawn.
func (c barChart) extent() (hi, lo int64) {
	for i := range c.Labels {
		var pos, neg int64
		for _, s := range c.Series {
			v := s.Values[i]
			switch {
			case !c.Stacked:
				pos, neg = max(pos, v), min(neg, v)
			case v > 0:
				pos += v
			default:
				neg += v
			}
		}
		hi, lo = max(hi, pos), min(lo, neg)
	}
	return hi, lo
}

// niceStep returns a step of 1, 2 or 5 × 10^k with at most n steps in span.
func niceStep(span int64, n int64) int64 {
	if span <= 0 {
		return 1
	}
	raw := (span + n - 1) / n
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= raw {
				return m * p
			}
		}
	}
}

// SVG draws the chart.
func (c barChart) SVG() template.HTML {
	hi, lo := c.extent()
	if hi == lo { // nothing to draw: a scale of one unit of the currency
		hi = 100
	}
	step := niceStep(hi-lo, 4)
	top := (hi + step - 1) / step * step
	bottom := -((-lo + step - 1) / step * step)
	if top == bottom {
		top = step
	}
	y := func(v int64) float64 { return padTop + float64(top-v)/float64(top-bottom)*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title" preserveAspectRatio="xMidYMid meet">`,
		chartW, chartH, c.ID)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, c.ID, html.EscapeString(c.Title))
	for v := bottom; v <= top; v += step {
		cls := "grid"
		if v == 0 {
			cls = "zero"
		}
		fmt.Fprintf(&b, `<line class="%s" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, cls, padLeft, chartW-padRight, y(v), y(v))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end" font-size="%d">%s</text>`,
			padLeft-6, y(v)+4, chartFont, html.EscapeString(c.Format(v)))
	}
	n := len(c.Labels)
	if n == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	slot := float64(plotW) / float64(n)
	groups := len(c.Series)
	if c.Stacked {
		groups = 1
	}
	barW := slot * (1 - barGap) / float64(max(groups, 1))
	every := (n + 7) / 8 // at most 8 labels, so they stay readable on a phone
	for i, label := range c.Labels {
		x0 := padLeft + slot*float64(i) + slot*barGap/2
		var pos, neg int64
		for k, s := range c.Series {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			x := x0
			var from int64
			if c.Stacked {
				if v > 0 {
					from, pos = pos, pos+v
				} else {
					from, neg = neg, neg+v
				}
			} else {
				x += barW * float64(k)
			}
			y1, y2 := y(from), y(from+v)
			if y2 < y1 {
				y1, y2 = y2, y1
			}
			fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s</title></rect>`,
				s.Class, x, y1, barW, max(y2-y1, 0.5), html.EscapeString(label), html.EscapeString(s.Name), html.EscapeString(c.Format(v)))
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%d" text-anchor="middle" font-size="%d">%s</text>`,
				padLeft+slot*(float64(i)+0.5), chartH-8, chartFont, html.EscapeString(label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
