// sifsign: the SIF reference implementation's signer (sylabs/sif pkg/integrity `NewSigner`, what
// `apptainer sign` calls), used to compare sifter's signature objects with the reference's
// byte for byte. With --time and --deterministic it signs the way the reference's golden
// images were made (test/gen_sifs.go): fixed signature time, deterministic SIF fields.
//
// usage: sifsign --key PRIVATE.asc [--time RFC3339] [--deterministic] FILE.sif
// A passphrase-protected key is unlocked with $SIFSIGN_PASSPHRASE. The file is signed in place.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sylabs/sif/v2/pkg/integrity"
	"github.com/sylabs/sif/v2/pkg/sif"
)

func fatal(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func main() {
	keyPath := flag.String("key", "", "armored OpenPGP private key")
	at := flag.String("time", "", "signature time (RFC 3339); default now")
	deterministic := flag.Bool("deterministic", false, "deterministic SIF header and descriptor fields")
	flag.Parse()
	if flag.NArg() != 1 || *keyPath == "" {
		fmt.Fprintln(os.Stderr, "usage: sifsign --key PRIVATE.asc [--time RFC3339] [--deterministic] FILE.sif")
		os.Exit(2)
	}
	kf, err := os.Open(*keyPath)
	if err != nil {
		fatal(err)
	}
	el, err := openpgp.ReadArmoredKeyRing(kf)
	kf.Close()
	if err != nil {
		fatal(err)
	}
	if len(el) != 1 || el[0].PrivateKey == nil {
		fatal(fmt.Errorf("%s: want exactly one private key", *keyPath))
	}
	e := el[0]
	if e.PrivateKey.Encrypted {
		if err := e.PrivateKey.Decrypt([]byte(os.Getenv("SIFSIGN_PASSPHRASE"))); err != nil {
			fatal(err)
		}
	}

	opts := []integrity.SignerOpt{integrity.OptSignWithEntity(e)}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fatal(err)
		}
		opts = append(opts, integrity.OptSignWithTime(func() time.Time { return t }))
	}
	if *deterministic {
		opts = append(opts, integrity.OptSignDeterministic())
	}

	f, err := sif.LoadContainerFromPath(flag.Arg(0))
	if err != nil {
		fatal(err)
	}
	s, err := integrity.NewSigner(f, opts...)
	if err != nil {
		f.UnloadContainer()
		fatal(err)
	}
	if err := s.Sign(); err != nil {
		f.UnloadContainer()
		fatal(err)
	}
	if err := f.UnloadContainer(); err != nil {
		fatal(err)
	}
}
