// Package diag will hold diagnostics: Check, Finding, runbooks, classifiers
// for known error texts and the support bundle. Nothing is exported yet.
//
// Like every core package it may import only the standard library and
// inventory.
package diag
