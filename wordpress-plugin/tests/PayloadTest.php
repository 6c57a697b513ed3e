<?php
use PHPUnit\Framework\TestCase;

final class PayloadTest extends TestCase {

	private function post( array $fields = array() ) {
		return array_merge(
			array(
				'ID'            => 42,
				'post_title'    => 'Grid operators &amp; <em>winter</em>',
				'post_content'  => "<!-- wp:paragraph --><p>First&nbsp;paragraph.</p><!-- /wp:paragraph -->\n[caption id=\"a1\"]<img src=\"x.jpg\">A caption[/caption]<p>Second <b>bold</b></p><script>track()</script>",
				'post_excerpt'  => '',
				'post_date_gmt' => '2026-11-01 08:30:00',
				'post_date'     => '2026-11-01 09:30:00',
			),
			$fields
		);
	}

	private function context( array $fields = array() ) {
		return array_merge(
			array(
				'permalink'        => 'https://news.example.com/energy/grid/',
				'categories'       => array( array( 7, 'Politics' ), array( 3, 'Energy &amp; Climate' ) ),
				'primary_category' => 0,
				'tags'             => array( 'winter', 'grid', 'winter', '' ),
				'author'           => 'Ann &amp; Bob',
				'image_url'        => 'https://news.example.com/img/42.jpg',
				'language'         => 'en',
				'timezone'         => 'Europe/Paris',
			),
			$fields
		);
	}

	public function test_payload_has_the_articles_file_fields_as_the_import_writes_them() {
		$article = Newsrec_Payload::build( $this->post(), $this->context() );
		$this->assertSame(
			array(
				'id'           => '42',
				'title'        => 'Grid operators & winter',
				'body'         => 'First paragraph. A caption Second bold',
				'category'     => 'Energy & Climate',
				'tags'         => array( 'grid', 'winter' ),
				'author'       => 'Ann & Bob',
				'published_at' => '2026-11-01T08:30:00Z',
				'url'          => 'https://news.example.com/energy/grid/',
				'image_url'    => 'https://news.example.com/img/42.jpg',
				'status'       => 'published',
				'language'     => 'en',
			),
			$article
		);
	}

	public function test_primary_category_wins_only_when_assigned() {
		$this->assertSame( 'Politics', Newsrec_Payload::build( $this->post(), $this->context( array( 'primary_category' => 7 ) ) )['category'] );
		$this->assertSame( 'Energy & Climate', Newsrec_Payload::build( $this->post(), $this->context( array( 'primary_category' => 99 ) ) )['category'] );
		$this->assertSame( '', Newsrec_Payload::build( $this->post(), $this->context( array( 'categories' => array() ) ) )['category'] );
	}

	public function test_a_hand_written_excerpt_comes_first_and_a_generated_one_is_dropped() {
		$own = Newsrec_Payload::build( $this->post( array( 'post_excerpt' => '<p>Short take.</p>' ) ), $this->context() );
		$this->assertSame( 'Short take. First paragraph. A caption Second bold', $own['body'] );
		$generated = Newsrec_Payload::build( $this->post( array( 'post_excerpt' => 'First paragraph. A [&hellip;]' ) ), $this->context() );
		$this->assertSame( 'First paragraph. A caption Second bold', $generated['body'] );
	}

	public function test_published_at_is_utc_and_falls_back_to_the_local_date_in_the_site_zone() {
		$local = Newsrec_Payload::build( $this->post( array( 'post_date_gmt' => '0000-00-00 00:00:00' ) ), $this->context() );
		$this->assertSame( '2026-11-01T08:30:00Z', $local['published_at'] ); // Paris is UTC+1 in November.
		$none = Newsrec_Payload::build( $this->post( array( 'post_date_gmt' => '0000-00-00 00:00:00', 'post_date' => '' ) ), $this->context() );
		$this->assertNull( $none['published_at'] );
	}

	public function test_plain_text_separates_blocks_and_joins_inline_markup() {
		$this->assertSame( 'a b', Newsrec_Payload::plain( '<p>a</p><p>b</p>' ) );
		$this->assertSame( 'word', Newsrec_Payload::plain( 'wo<b>rd</b>' ) );
		$this->assertSame( 'a < b', Newsrec_Payload::plain( 'a < b' ) );
		$this->assertSame( 'Café', Newsrec_Payload::plain( 'Caf&eacute;<style>p{}</style><!-- c -->' ) );
		$this->assertSame( 'x y', Newsrec_Payload::plain( "x\u{00A0}\n\t y<noscript>z</noscript>" ) );
	}
}
