// Package notmain is a library, not a program: gorun must refuse to run it.
package notmain

// X exists so the package has something in it.
var X = 1
