// sifverify: the SIF reference implementation's signature verifier (sylabs/sif pkg/integrity,
// the code `apptainer verify` runs, from Debian's golang-github-sylabs-sif-dev, with Debian's
// ProtonMail go-crypto for OpenPGP), as an oracle for the signatures sifter writes and reads.
//
// usage: sifverify --key PUBLIC.asc [--key …] [--legacy | --legacy-all] [--group N]… [--object N]… FILE.sif
//
// Prints one line per signature checked (object ID, signer fingerprint, objects verified, error)
// and exits 0 when every task verified, 1 when verification failed, 2 on bad usage.
package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sylabs/sif/v2/pkg/integrity"
	"github.com/sylabs/sif/v2/pkg/sif"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var keys, groups, objects list
	flag.Var(&keys, "key", "armored OpenPGP key file (public or private); repeatable")
	flag.Var(&groups, "group", "verify this object group; repeatable")
	flag.Var(&objects, "object", "verify this object; repeatable")
	legacy := flag.Bool("legacy", false, "verify legacy (SIFHASH) signatures only")
	legacyAll := flag.Bool("legacy-all", false, "verify legacy signatures of every grouped object")
	flag.Parse()
	if flag.NArg() != 1 || len(keys) == 0 {
		fmt.Fprintln(os.Stderr, "usage: sifverify --key KEY.asc [--legacy|--legacy-all] [--group N] [--object N] FILE.sif")
		os.Exit(2)
	}

	var kr openpgp.EntityList
	for _, path := range keys {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		el, err := openpgp.ReadArmoredKeyRing(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(2)
		}
		kr = append(kr, el...)
	}

	opts := []integrity.VerifierOpt{integrity.OptVerifyWithKeyRing(kr)}
	for _, g := range groups {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		opts = append(opts, integrity.OptVerifyGroup(uint32(n)))
	}
	for _, o := range objects {
		n, err := strconv.ParseUint(o, 10, 32)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		opts = append(opts, integrity.OptVerifyObject(uint32(n)))
	}
	if *legacyAll {
		opts = append(opts, integrity.OptVerifyLegacyAll())
	} else if *legacy {
		opts = append(opts, integrity.OptVerifyLegacy())
	}
	opts = append(opts, integrity.OptVerifyCallback(func(r integrity.VerifyResult) bool {
		fp := "unknown"
		if e := r.Entity(); e != nil {
			fp = strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
		}
		var ids []string
		for _, d := range r.Verified() {
			ids = append(ids, strconv.FormatUint(uint64(d.ID()), 10))
		}
		status := "ok"
		if err := r.Error(); err != nil {
			status = "error: " + err.Error()
		}
		fmt.Printf("signature %d: signer %s: objects [%s]: %s\n", r.Signature().ID(), fp, strings.Join(ids, " "), status)
		return false
	}))

	f, err := sif.LoadContainerFromPath(flag.Arg(0), sif.OptLoadWithFlag(os.O_RDONLY))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.UnloadContainer()
	v, err := integrity.NewVerifier(f, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := v.Verify(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("verified")
}
